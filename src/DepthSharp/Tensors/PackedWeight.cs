using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Tensors;

/// <summary>
/// A linear layer's float32 weight packed once, at load, into the layout the GEMM's micro-kernel reads, so no forward
/// pass packs it again (each thread of a row-split product would otherwise pack all of it).
/// </summary>
internal sealed class PackedWeight
{
    private readonly float[] _buffer;
    private readonly int _offset;

    /// <summary>Input features (the product's depth) and output features.</summary>
    public int In { get; }
    public int Out { get; }

    /// <summary>Packs w [out, in], nn.Linear's layout; w is left as it was.</summary>
    public PackedWeight(Tensor w)
    {
        if (w.Rank != 2) throw new ArgumentException($"a linear weight is [out, in], not {w}");
        Out = w.Dim(0);
        In = w.Dim(1);
        // Pinned, so that it can start on a 64-byte boundary as the micro-kernel's aligned loads need.
        int length = checked(In * PackedGemm.RoundUp(Out, GemmKernels.Nr));
        _buffer = GC.AllocateUninitializedArray<float>(length + 16, pinned: true);
        // Counted like a tensor's buffer, so that the checkpoint-layout weights a load releases are collected as it goes.
        LargeAllocationPressure.Note((length + 16L) * sizeof(float));
        unsafe
        {
            fixed (float* src = w.Data, dst = _buffer)
            {
                _offset = (int)(((64 - (nint)dst % 64) % 64) / sizeof(float));
                PackedGemm.PrepackWeight(src, Out, In, dst + _offset);
            }
        }
    }

    /// <summary>The packed values, 64-byte aligned.</summary>
    internal ReadOnlySpan<float> Packed => _buffer.AsSpan(_offset, In * PackedGemm.RoundUp(Out, GemmKernels.Nr));

    /// <summary>The weight transposed, [in, out], unpacked again: for the reference kernels.</summary>
    public Tensor ToWeightT()
    {
        int nPad = PackedGemm.RoundUp(Out, GemmKernels.Nr), nr = GemmKernels.Nr, kc = PackedGemm.WeightSlice(In);
        var wT = Tensor.Empty(In, Out);
        for (int p0 = 0; p0 < In; p0 += kc)
        {
            int depth = Math.Min(kc, In - p0);
            for (int p = 0; p < depth; p++)
                for (int j = 0; j < Out; j++)
                    wT.Data[(long)(p0 + p) * Out + j] = _buffer[_offset + (long)p0 * nPad + (long)(j / nr * nr) * depth + (long)p * nr + j % nr];
        }
        return wT;
    }
}
