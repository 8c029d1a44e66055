namespace DepthSharp.Tensors.Kernels;

/// <summary>Data-movement kernels: the same copies as the reference, split over threads, innermost runs copied as blocks.</summary>
internal static partial class Fast
{
    public static void Permute(ReadOnlySpan<float> xs, int[] shape, int[] perm, Span<float> ys)
    {
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
                ParallelChunks(rows, 256, (r0, r1) =>
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

    public static void Unfold(ReadOnlySpan<float> xs, int batch, int channels, int h, int w, int kernel, int stride, Span<float> ys)
    {
        int nh = (h - kernel) / stride + 1, nw = (w - kernel) / stride + 1, blocks = nh * nw;
        long rows = (long)batch * channels * kernel * kernel;
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint xp = (nint)px, yp = (nint)py;
                ParallelChunks(rows, 16, (r0, r1) =>
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
}
