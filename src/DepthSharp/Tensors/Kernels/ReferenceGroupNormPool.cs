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
