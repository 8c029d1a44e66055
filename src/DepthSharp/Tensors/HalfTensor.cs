using System.Runtime.Intrinsics;

namespace DepthSharp.Tensors;

/// <summary>The 16-bit float formats checkpoints store.</summary>
internal enum HalfKind { F16, BF16 }

/// <summary>
/// A dense, row-major tensor kept in the 16-bit format its checkpoint stores: half the memory of float32, and widening it
/// is exact, so the kernels widen it as they pack it and compute in float32 as if it had been widened at load.
/// </summary>
internal sealed class HalfTensor
{
    public ushort[] Bits { get; private set; }
    public HalfKind Kind { get; }
    public int[] Shape { get; }
    public int Rank => Shape.Length;
    public long Length => Bits.LongLength;

    public HalfTensor(ushort[] bits, HalfKind kind, params int[] shape)
    {
        long n = Tensor.ShapeSize(shape);
        if (n != bits.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} values, data has {bits.LongLength}");
        Bits = bits;
        Kind = kind;
        Shape = (int[])shape.Clone();
    }

    public int Dim(int dim) => Shape[dim < 0 ? Shape.Length + dim : dim];

    /// <summary>The same values in float32.</summary>
    public Tensor ToFloat()
    {
        var t = Tensor.Empty(Shape);
        HalfConvert.Widen(Bits, Kind, t.Data);
        return t;
    }

    /// <summary>A 2-D matrix transposed: [r, c] → [c, r].</summary>
    public HalfTensor Transpose2D()
    {
        if (Rank != 2) throw new ArgumentException($"Transpose2D needs a matrix, got [{string.Join(", ", Shape)}]");
        int rows = Shape[0], cols = Shape[1];
        var dst = GC.AllocateUninitializedArray<ushort>(Bits.Length);
        // Square blocks keep both the reads and the writes within a few cache lines.
        const int B = 32;
        for (int r0 = 0; r0 < rows; r0 += B)
            for (int c0 = 0; c0 < cols; c0 += B)
            {
                int r1 = Math.Min(rows, r0 + B), c1 = Math.Min(cols, c0 + B);
                for (int r = r0; r < r1; r++)
                    for (int c = c0; c < c1; c++) dst[(long)c * rows + r] = Bits[(long)r * cols + c];
            }
        return new HalfTensor(dst, Kind, cols, rows);
    }

    /// <summary>Declares the buffer dead (counted towards the next forced collection); the tensor is empty afterwards.</summary>
    public void Release()
    {
        long bytes = Bits.LongLength * sizeof(ushort);
        Bits = [];
        LargeAllocationPressure.Note(bytes);
    }

    public override string ToString() => $"HalfTensor<{Kind}>[{string.Join(", ", Shape)}]";
}

/// <summary>Exact widening of 16-bit floats to float32, and the narrowing that makes them.</summary>
internal static class HalfConvert
{
    /// <summary>
    /// The 16-bit bits of float32 values: f16 rounded to nearest, bf16 the upper half of the float32 bits (truncated,
    /// which is all random weights for timing need).
    /// </summary>
    public static ushort[] Narrow(ReadOnlySpan<float> src, HalfKind kind)
    {
        var bits = new ushort[src.Length];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = kind == HalfKind.F16
                ? BitConverter.HalfToUInt16Bits((Half)src[i])
                : (ushort)(BitConverter.SingleToUInt32Bits(src[i]) >> 16);
        return bits;
    }

    public static void Widen(ReadOnlySpan<ushort> src, HalfKind kind, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination shorter than the source", nameof(dst));
        unsafe
        {
            fixed (ushort* s = src)
            fixed (float* d = dst)
                Widen(s, kind, d, src.Length);
        }
    }

    public static unsafe void Widen(ushort* src, HalfKind kind, float* dst, int n)
    {
        if (kind == HalfKind.F16)
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, n), new Span<float>(dst, n));
            return;
        }
        // bfloat16 is the upper half of a float32's bits.
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Load(src + i));
                Vector512.Store(Vector512.ShiftLeft(lo, 16).AsSingle(), dst + i);
                Vector512.Store(Vector512.ShiftLeft(hi, 16).AsSingle(), dst + i + 16);
            }
        for (; i < n; i++) dst[i] = BitConverter.Int32BitsToSingle(src[i] << 16);
    }
}
