using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>y[rows,dim] = (x - mean) / sqrt(var + eps) · gamma + beta, statistics over the last dimension (biased variance).</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, int rows, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * dim, dim);
            double mean = 0;
            foreach (float v in row) mean += v;
            mean /= dim;
            double var = 0;
            foreach (float v in row) var += (v - mean) * (v - mean);
            var /= dim;
            float inv = (float)(1.0 / Math.Sqrt(var + eps));
            for (int i = 0; i < dim; i++)
                y[r * dim + i] = (float)(row[i] - mean) * inv * gamma[i] + beta[i];
        }
    }

    /// <summary>Inference batch norm over x[B,C,plane]: (x - mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c].</summary>
    public static void BatchNorm(ReadOnlySpan<float> x, int batch, int channels, int plane,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
            {
                float scale = gamma[c] / MathF.Sqrt(variance[c] + eps);
                for (int i = 0; i < plane; i++)
                {
                    int idx = (b * channels + c) * plane + i;
                    y[idx] = (x[idx] - mean[c]) * scale + beta[c];
                }
            }
    }
}

/// <summary>Layer and batch normalisation over parallel rows and planes.</summary>
internal static partial class Fast
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNorm(ReadOnlySpan<float> xs, int rows, int dim, ReadOnlySpan<float> gs, ReadOnlySpan<float> bs, float eps, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, pg = gs, pb = bs, py = ys)
            {
                nint x = (nint)px, g = (nint)pg, b = (nint)pb, y = (nint)py;
                // A row is a few KiB: ~1 µs of work, so chunks of 64 rows keep the task overhead small.
                ParallelChunks(rows, 64, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    for (long r = r0; r < r1; r++)
                        LayerNormRow((float*)x + r * dim, dim, (float*)g, (float*)b, eps, (float*)y + r * dim);
                });
            }
        }
    }

    /// <summary>One row: mean, then the variance about it (two passes, as the reference computes it), then the affine map.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void LayerNormRow(float* x, int dim, float* g, float* b, float eps, float* y)
    {
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && dim >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= dim; i += 16) acc += Vector512.Load(x + i);
            sum = Vector512.Sum(acc);
        }
        for (; i < dim; i++) sum += x[i];
        float mean = sum / dim;
        i = 0;
        float sq = 0f;
        if (Vector512.IsHardwareAccelerated && dim >= 16)
        {
            var m = Vector512.Create(mean);
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= dim; i += 16)
            {
                var d = Vector512.Load(x + i) - m;
                acc = Vector512.FusedMultiplyAdd(d, d, acc);
            }
            sq = Vector512.Sum(acc);
        }
        for (; i < dim; i++) sq += (x[i] - mean) * (x[i] - mean);
        float inv = 1f / MathF.Sqrt(sq / dim + eps);
        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(mean);
            var s = Vector512.Create(inv);
            for (; i + 16 <= dim; i += 16)
                Vector512.Store(Vector512.FusedMultiplyAdd((Vector512.Load(x + i) - m) * s, Vector512.Load(g + i), Vector512.Load(b + i)), y + i);
        }
        for (; i < dim; i++) y[i] = (x[i] - mean) * inv * g[i] + b[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNorm(ReadOnlySpan<float> xs, int batch, int channels, int plane,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> ys)
    {
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] / MathF.Sqrt(variance[c] + eps);
            shift[c] = beta[c] - mean[c] * scale[c];
        }
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks((long)batch * channels, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                {
                    for (long p = p0; p < p1; p++)
                    {
                        int c = (int)(p % channels);
                        var dst = new Span<float>((float*)y + p * plane, plane);
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>((float*)x + p * plane, plane), scale[c], dst);
                        TensorPrimitives.Add((ReadOnlySpan<float>)dst, shift[c], dst);
                    }
                });
            }
        }
    }
}
