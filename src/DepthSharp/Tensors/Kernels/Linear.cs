namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>C[m,n] (+)= op(A)[m,k] · op(B)[k,n]. op(A)[i,p] = transA ? a[p*lda+i] : a[i*lda+p]; likewise B.</summary>
    public static void Gemm(int m, int n, int k, ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
            }
    }

    /// <summary>y[rows,outF] = x[rows,inF] · wT[inF,outF] + bias[outF] (bias may be empty).</summary>
    public static void LinearWeightT(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<float> wT, ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                float sum = bias.IsEmpty ? 0f : bias[o];
                for (int i = 0; i < inF; i++) sum += x[r * inF + i] * wT[i * outF + o];
                y[r * outF + o] = sum;
            }
    }
}

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

    /// <summary>y = x · wT + bias with the weight packed at load (<see cref="PackedGemm.PrepackWeight"/>): read in place.</summary>
    public static void LinearPacked(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<float> packed, ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        if (!LinearArgumentsFit(x.Length, rows, inF, bias.Length, outF, y.Length)) return;
        int nPad = PackedGemm.RoundUp(outF, GemmKernels.Nr);
        RequireLength(packed.Length, (long)inF * nPad, nameof(packed));
        unsafe
        {
            fixed (float* px = x, pw = packed, pb = bias, py = y)
            {
                // The micro-kernel loads B panels with aligned loads.
                if ((nint)pw % 64 != 0) throw new ArgumentException("packed weights must start on a 64-byte boundary", nameof(packed));
                PackedGemm.Run(rows, outF, inF, px, inF, false, new PrepackedB(pw, nPad), py, outF, false,
                    null, bias.IsEmpty ? null : pb, KernelOptions.Threads);
            }
        }
    }

    /// <summary>The same with the [in, out] weight in a 16-bit format, widened as the GEMM packs it.</summary>
    public static void LinearWeightT(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<ushort> wT, HalfKind kind, ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        if (!LinearArgumentsFit(x.Length, rows, inF, bias.Length, outF, y.Length)) return;
        RequireCovers(wT.Length, inF, outF, outF, nameof(wT));
        unsafe
        {
            fixed (float* px = x, pb = bias, py = y)
            fixed (ushort* pw = wT)
                PackedGemm.Run(rows, outF, inF, px, inF, false, new WidenedB<HalfRows>(new HalfRows(pw, outF, kind)), py, outF, false,
                    null, bias.IsEmpty ? null : pb, KernelOptions.Threads);
        }
    }

    /// <summary>The same with an 8-bit [in, out] weight and its per-output scales, widened and scaled as the GEMM packs it.</summary>
    public static void LinearInt8(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<sbyte> wT, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        if (!LinearArgumentsFit(x.Length, rows, inF, bias.Length, outF, y.Length)) return;
        RequireCovers(wT.Length, inF, outF, outF, nameof(wT));
        RequireLength(scales.Length, outF, nameof(scales));
        unsafe
        {
            fixed (float* px = x, pb = bias, py = y, ps = scales)
            fixed (sbyte* pw = wT)
                PackedGemm.Run(rows, outF, inF, px, inF, false, new WidenedB<Int8Rows>(new Int8Rows(pw, outF, ps)), py, outF, false,
                    null, bias.IsEmpty ? null : pb, KernelOptions.Threads);
        }
    }

    /// <summary>Checks that the spans hold the linear layer's input, bias and output; false when there is nothing to compute.</summary>
    private static bool LinearArgumentsFit(int x, int rows, int inF, int bias, int outF, int y)
    {
        if (rows == 0 || outF == 0) return false;
        RequireCovers(x, rows, inF, inF, nameof(x));
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
