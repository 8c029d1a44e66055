using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

// Group norm, constant padding and max pooling (the BiT backbone's operations): plain loops, then the fast versions.

namespace DepthSharp.Tensors.Kernels;

/// <summary>Plain loop definitions of group normalisation, constant padding and max pooling (the BiT backbone's).</summary>
internal static partial class Reference
{
    /// <summary>
    /// Group norm over x[B, C, plane]: each batch element's channels fall into <paramref name="groups"/> runs of C/groups;
    /// y = (x - mean) / sqrt(var + eps) · gamma[c] + beta[c], mean and biased variance over the whole run.
    /// </summary>
    public static void GroupNorm(ReadOnlySpan<float> x, int batch, int channels, int plane, int groups,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        int per = channels / groups;
        long count = (long)per * plane;
        for (int b = 0; b < batch; b++)
            for (int g = 0; g < groups; g++)
            {
                int start = (b * channels + g * per) * plane;
                double mean = 0;
                for (int i = 0; i < count; i++) mean += x[start + i];
                mean /= count;
                double variance = 0;
                for (int i = 0; i < count; i++) variance += (x[start + i] - mean) * (x[start + i] - mean);
                variance /= count;
                double inv = 1.0 / Math.Sqrt(variance + eps);
                for (int c = g * per; c < (g + 1) * per; c++)
                    for (int i = 0; i < plane; i++)
                    {
                        int at = (b * channels + c) * plane + i;
                        y[at] = (float)((x[at] - mean) * inv * gamma[c] + beta[c]);
                    }
            }
    }

    /// <summary>x[planes, H, W] → y[planes, top + H + bottom, left + W + right], the border filled with <paramref name="value"/>.</summary>
    public static void ConstantPad2d(ReadOnlySpan<float> x, int planes, int h, int w, int left, int right, int top, int bottom, float value, Span<float> y)
    {
        int oh = top + h + bottom, ow = left + w + right;
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int iy = oy - top, ix = ox - left;
                    y[(p * oh + oy) * ow + ox] = (uint)iy < (uint)h && (uint)ix < (uint)w ? x[(p * h + iy) * w + ix] : value;
                }
    }

    /// <summary>
    /// Max pooling of x[planes, H, W] with a square window and stride, no padding, output size rounded down; a NaN in a
    /// window gives NaN, as PyTorch's does.
    /// </summary>
    public static void MaxPool2d(ReadOnlySpan<float> x, int planes, int h, int w, int kernel, int stride, Span<float> y)
    {
        int oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1;
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    float max = float.NegativeInfinity;
                    for (int ky = 0; ky < kernel; ky++)
                        for (int kx = 0; kx < kernel; kx++)
                            max = MathF.Max(max, x[(p * h + oy * stride + ky) * w + ox * stride + kx]);
                    y[(p * oh + oy) * ow + ox] = max;
                }
    }
}

/// <summary>Vectorised, multi-threaded group norm, constant padding and max pooling.</summary>
internal static partial class Fast
{
    // Group sums are taken in float over runs of this many values and added up in double: a single float sum over a
    // group of a million values (a wide map with few groups) would lose digits of the mean that the variance needs.
    private const int SumRun = 4096;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GroupNorm(ReadOnlySpan<float> xs, int batch, int channels, int plane, int groups,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> ys)
    {
        int per = channels / groups, length = per * plane;
        var g = gamma.ToArray();
        var bt = beta.ToArray();
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                // A group's channels are consecutive, so each group is one contiguous run of C/groups planes.
                ParallelChunks((long)batch * groups, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (q0, q1) =>
                {
                    for (long q = q0; q < q1; q++)
                    {
                        var src = new ReadOnlySpan<float>((float*)x + q * length, length);
                        var dst = new Span<float>((float*)y + q * length, length);
                        double sum = 0;
                        for (int i = 0; i < length; i += SumRun) sum += TensorPrimitives.Sum(src.Slice(i, Math.Min(SumRun, length - i)));
                        float mean = (float)(sum / length);
                        // The deviations go to the output, which the affine map then overwrites.
                        TensorPrimitives.Subtract(src, mean, dst);
                        double squares = 0;
                        for (int i = 0; i < length; i += SumRun)
                            squares += TensorPrimitives.SumOfSquares((ReadOnlySpan<float>)dst.Slice(i, Math.Min(SumRun, length - i)));
                        float inv = (float)(1.0 / Math.Sqrt(squares / length + eps));
                        int c0 = (int)(q % groups) * per;
                        for (int c = 0; c < per; c++)
                        {
                            var d = dst.Slice(c * plane, plane);
                            TensorPrimitives.Multiply(d, inv * g[c0 + c], d);
                            TensorPrimitives.Add(d, bt[c0 + c], d);
                        }
                    }
                });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConstantPad2d(ReadOnlySpan<float> xs, int planes, int h, int w, int left, int right, int top, int bottom, float value, Span<float> ys)
    {
        int oh = top + h + bottom, ow = left + w + right;
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(planes, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                {
                    for (long p = p0; p < p1; p++)
                    {
                        var dst = new Span<float>((float*)y + p * oh * ow, oh * ow);
                        var src = new ReadOnlySpan<float>((float*)x + p * h * w, h * w);
                        dst[..(top * ow)].Fill(value);
                        for (int r = 0; r < h; r++)
                        {
                            var row = dst.Slice((top + r) * ow, ow);
                            row[..left].Fill(value);
                            src.Slice(r * w, w).CopyTo(row[left..]);
                            row[(left + w)..].Fill(value);
                        }
                        dst[((top + h) * ow)..].Fill(value);
                    }
                });
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MaxPool2d(ReadOnlySpan<float> xs, int planes, int h, int w, int kernel, int stride, Span<float> ys)
    {
        int oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1;
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks((long)planes * oh, 16, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    // The window's rows are first reduced to one row by vector maxima; the window's columns then by scalar ones.
                    var column = new float[w];
                    for (long r = r0; r < r1; r++)
                    {
                        long p = r / oh;
                        int oy = (int)(r % oh);
                        var plane = new ReadOnlySpan<float>((float*)x + p * h * w, h * w);
                        plane.Slice(oy * stride * w, w).CopyTo(column);
                        for (int ky = 1; ky < kernel; ky++)
                            TensorPrimitives.Max(column, plane.Slice((oy * stride + ky) * w, w), column);
                        var dst = new Span<float>((float*)y + r * ow, ow);
                        for (int ox = 0; ox < ow; ox++)
                        {
                            float max = column[ox * stride];
                            for (int kx = 1; kx < kernel; kx++) max = MathF.Max(max, column[ox * stride + kx]);
                            dst[ox] = max;
                        }
                    }
                });
            }
        }
    }
}
