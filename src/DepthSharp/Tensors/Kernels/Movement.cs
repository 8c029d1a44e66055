using System.Runtime.CompilerServices;
// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>y = x with dimensions reordered (output dim i is input dim perm[i]); both contiguous, row-major.</summary>
    public static void Permute(ReadOnlySpan<float> x, int[] shape, int[] perm, Span<float> y)
    {
        int rank = shape.Length;
        var inStrides = new long[rank];
        long st = 1;
        for (int i = rank - 1; i >= 0; i--) { inStrides[i] = st; st *= shape[i]; }
        var outShape = new int[rank];
        for (int i = 0; i < rank; i++) outShape[i] = shape[perm[i]];
        var idx = new int[rank];
        for (long o = 0; o < y.Length; o++)
        {
            long src = 0;
            for (int i = 0; i < rank; i++) src += idx[i] * inStrides[perm[i]];
            y[(int)o] = x[(int)src];
            for (int i = rank - 1; i >= 0; i--)
            {
                if (++idx[i] < outShape[i]) break;
                idx[i] = 0;
            }
        }
    }

    /// <summary>F.unfold, no padding: x[B,C,H,W] → y[B, C·k·k, L]; row (c, ky, kx), column = block index (row-major).</summary>
    public static void Unfold(ReadOnlySpan<float> x, int batch, int channels, int h, int w, int kernel, int stride, Span<float> y)
    {
        int nh = (h - kernel) / stride + 1, nw = (w - kernel) / stride + 1, blocks = nh * nw;
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int ky = 0; ky < kernel; ky++)
                    for (int kx = 0; kx < kernel; kx++)
                        for (int by = 0; by < nh; by++)
                            for (int bx = 0; bx < nw; bx++)
                                y[(((b * channels + c) * kernel + ky) * kernel + kx) * blocks + by * nw + bx] =
                                    x[((b * channels + c) * h + by * stride + ky) * w + bx * stride + kx];
    }
}

/// <summary>Data-movement kernels: the same copies as the reference, split over threads, innermost runs copied as blocks.</summary>
internal static partial class Fast
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Permute(ReadOnlySpan<float> xs, int[] shape, int[] perm, Span<float> ys)
    {
        if (AsBatchedTranspose(shape, perm, out int outer, out int rowsX, out int colsY))
        {
            BatchedTranspose(xs, outer, rowsX, colsY, ys);
            return;
        }
        int rank = shape.Length;
        var inStrides = new long[rank];
        long st = 1;
        for (int i = rank - 1; i >= 0; i--) { inStrides[i] = st; st *= shape[i]; }
        var outShape = new int[rank];
        var strides = new long[rank];
        for (int i = 0; i < rank; i++) { outShape[i] = shape[perm[i]]; strides[i] = inStrides[perm[i]]; }
        int last = outShape[rank - 1];
        long lastStride = strides[rank - 1];
        long rows = ys.Length / last;
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint xp = (nint)px, yp = (nint)py;
                ParallelChunks(rows, 256, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    // Output rows r0..r1: find the input offset of each from its multi-index.
                    var idx = new int[rank];
                    long rem = r0;
                    for (int i = rank - 2; i >= 0; i--) { idx[i] = (int)(rem % outShape[i]); rem /= outShape[i]; }
                    float* src = (float*)xp, dst = (float*)yp;
                    for (long r = r0; r < r1; r++)
                    {
                        long inPos = 0;
                        for (int i = 0; i < rank - 1; i++) inPos += idx[i] * strides[i];
                        float* d = dst + r * last;
                        if (lastStride == 1) new ReadOnlySpan<float>(src + inPos, last).CopyTo(new Span<float>(d, last));
                        else for (int j = 0; j < last; j++) d[j] = src[inPos + j * lastStride];
                        for (int i = rank - 2; i >= 0; i--)
                        {
                            if (++idx[i] < outShape[i]) break;
                            idx[i] = 0;
                        }
                    }
                });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unfold(ReadOnlySpan<float> xs, int batch, int channels, int h, int w, int kernel, int stride, Span<float> ys)
    {
        int nh = (h - kernel) / stride + 1, nw = (w - kernel) / stride + 1, blocks = nh * nw;
        long rows = (long)batch * channels * kernel * kernel;
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint xp = (nint)px, yp = (nint)py;
                ParallelChunks(rows, 16, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    for (long r = r0; r < r1; r++)
                    {
                        int kx = (int)(r % kernel), ky = (int)(r / kernel % kernel);
                        long plane = r / ((long)kernel * kernel); // b·C + c
                        float* src = (float*)xp + plane * h * w + (long)ky * w + kx;
                        float* dst = (float*)yp + r * blocks;
                        for (int by = 0; by < nh; by++)
                        {
                            float* row = src + (long)by * stride * w;
                            for (int bx = 0; bx < nw; bx++) dst[by * nw + bx] = row[(long)bx * stride];
                        }
                    }
                });
            }
        }
    }

    /// <summary>
    /// Whether the permutation keeps some leading dimensions and rotates the rest (a weight's [out, in] → [in, out], a
    /// sequence's [B, N, C] → [B, C, N], a map's [B, C, H, W] ↔ [B, H, W, C]): then x is [outer, X, Y] and y is
    /// [outer, Y, X].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool AsBatchedTranspose(int[] shape, int[] perm, out int outer, out int x, out int y)
    {
        outer = x = y = 1;
        int rank = shape.Length, p = 0;
        while (p < rank && perm[p] == p) p++;
        if (p >= rank - 1) return false;
        int s = perm[p] - p; // the first s of the rotated dimensions move to the end
        for (int i = p; i < rank; i++)
            if (perm[i] != p + (i - p + s) % (rank - p)) return false;
        for (int i = 0; i < p; i++) outer *= shape[i];
        for (int i = p; i < p + s; i++) x *= shape[i];
        for (int i = p + s; i < rank; i++) y *= shape[i];
        return true;
    }

    /// <summary>y[o, j, i] = x[o, i, j] for x [outer, rows, cols], in 8 × 8 register blocks, split by column ranges.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BatchedTranspose(ReadOnlySpan<float> xs, int outer, int rows, int cols, Span<float> ys)
    {
        // Column ranges of 64 keep a range's reads to a few lines per row and give the threads even shares.
        const int ColumnBlock = 64;
        int blocksPerMatrix = (cols + ColumnBlock - 1) / ColumnBlock;
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint xp = (nint)px, yp = (nint)py;
                ParallelChunks((long)outer * blocksPerMatrix, Math.Max(1, (1L << 16) / ((long)rows * ColumnBlock)), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (t0, t1) =>
                {
                    for (long t = t0; t < t1; t++)
                    {
                        long o = t / blocksPerMatrix;
                        int c0 = (int)(t % blocksPerMatrix) * ColumnBlock, nc = Math.Min(ColumnBlock, cols - c0);
                        float* src = (float*)xp + o * rows * cols + c0;
                        float* dst = (float*)yp + o * rows * cols + (long)c0 * rows;
                        PackedGemm.Transpose(src, cols, rows, nc, dst, rows);
                    }
                });
            }
        }
    }
}
