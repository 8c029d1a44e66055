using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DepthSharp.Tensors.Kernels;

/// <summary>Independent scratch areas; a kernel and the GEMM it calls must use different ones.</summary>
internal enum ScratchSlot { PackA, PackB, Tile, ConvColumns, AttnKeys, AttnValues, AttnQuery, AttnScores, AttnProbs,
    WinogradWeights, WinogradInput, WinogradOutput, WinogradStrip, ResizeRows, Count }

/// <summary>
/// Per-thread, 64-byte aligned scratch that only grows, so the kernels make no large allocations once warm.
/// The arrays are pinned (pinned object heap), so raw pointers into them stay valid.
/// </summary>
internal static unsafe class Scratch
{
    [ThreadStatic] private static float[]?[]? t_slots;

    /// <summary>At least <paramref name="count"/> floats, aligned to 64 bytes; the contents are whatever was left there.</summary>
    public static float* Get(ScratchSlot slot, long count)
    {
        var slots = t_slots ??= new float[]?[(int)ScratchSlot.Count];
        var arr = slots[(int)slot];
        if (arr is null || arr.LongLength < count + 16)
        {
            arr = GC.AllocateUninitializedArray<float>(checked((int)(count + 16)), pinned: true);
            slots[(int)slot] = arr;
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(arr));
        return (float*)((p + 63) & ~(nint)63);
    }
}
