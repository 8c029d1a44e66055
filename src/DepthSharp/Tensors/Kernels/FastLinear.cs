namespace DepthSharp.Tensors.Kernels;

internal static partial class Fast
{
    /// <summary>C[m,n] (+)= op(A)[m,k] · op(B)[k,n]; same contract as <see cref="Reference.Gemm"/>.</summary>
    public static void Gemm(int m, int n, int k, ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB, Span<float> c, int ldc, bool accumulate)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), "negative GEMM dimension");
        if (m == 0 || n == 0) return;
        // The kernels index through raw pointers, so the spans must cover every element the strides reach.
        RequireCovers(a.Length, transA ? k : m, transA ? m : k, lda, nameof(a));
        RequireCovers(b.Length, transB ? n : k, transB ? k : n, ldb, nameof(b));
        RequireCovers(c.Length, m, n, ldc, nameof(c));
        unsafe
        {
            fixed (float* pa = a, pb = b, pc = c)
                PackedGemm.Run(m, n, k, pa, lda, transA, new DenseB(pb, ldb, transB), pc, ldc, accumulate, null, null, KernelOptions.Threads);
        }
    }

    /// <summary>y = x · wT + bias with the weight stored [in, out]: B is packed by row copies, the bias added in the tile store.</summary>
    public static void LinearWeightT(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<float> wT, ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        if (!LinearArgumentsFit(x.Length, rows, inF, wT.Length, bias.Length, outF, y.Length)) return;
        unsafe
        {
            fixed (float* px = x, pw = wT, pb = bias, py = y)
                PackedGemm.Run(rows, outF, inF, px, inF, false, new DenseB(pw, outF, false), py, outF, false,
                    null, bias.IsEmpty ? null : pb, KernelOptions.Threads);
        }
    }

    /// <summary>The same with the [in, out] weight in a 16-bit format, widened as the GEMM packs it.</summary>
    public static void LinearWeightT(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<ushort> wT, HalfKind kind, ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        if (!LinearArgumentsFit(x.Length, rows, inF, wT.Length, bias.Length, outF, y.Length)) return;
        unsafe
        {
            fixed (float* px = x, pb = bias, py = y)
            fixed (ushort* pw = wT)
                PackedGemm.Run(rows, outF, inF, px, inF, false, new HalfB(pw, outF, kind), py, outF, false,
                    null, bias.IsEmpty ? null : pb, KernelOptions.Threads);
        }
    }

    /// <summary>Checks that the spans hold the linear layer's operands; false when there is nothing to compute.</summary>
    private static bool LinearArgumentsFit(int x, int rows, int inF, int wT, int bias, int outF, int y)
    {
        if (rows == 0 || outF == 0) return false;
        RequireCovers(x, rows, inF, inF, nameof(x));
        RequireCovers(wT, inF, outF, outF, nameof(wT));
        RequireCovers(y, rows, outF, outF, nameof(y));
        if (bias != 0 && bias < outF) throw new ArgumentException("bias shorter than the output width", nameof(bias));
        return true;
    }

    private static void RequireCovers(int length, int rows, int cols, int ld, string name)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols || (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"{rows}×{cols} with leading dimension {ld} does not fit in {length} values", name);
    }
}
