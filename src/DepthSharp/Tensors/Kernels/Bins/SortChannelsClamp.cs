using System.Runtime.CompilerServices;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>y[b, :, p] = the values scale·x[b, :, p] + shift sorted ascending along the channels, clamped to [min, max].</summary>
    public static void SortChannelsClamp(ReadOnlySpan<float> x, int batch, int channels, int plane, float scale, float shift,
        float min, float max, Span<float> y)
    {
        var column = new float[channels];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
            {
                for (int k = 0; k < channels; k++) column[k] = scale * x[(b * channels + k) * plane + p] + shift;
                Array.Sort(column);
                for (int k = 0; k < channels; k++) y[(b * channels + k) * plane + p] = Math.Clamp(column[k], min, max);
            }
    }
}

internal static partial class Fast
{
    /// <summary><see cref="Reference.SortChannelsClamp"/> over parallel chunks of pixels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SortChannelsClamp(ReadOnlySpan<float> x, int batch, int channels, int plane, float scale, float shift,
        float min, float max, Span<float> y)
    {
        RequireLength(x.Length, (long)batch * channels * plane, nameof(x));
        RequireLength(y.Length, (long)batch * channels * plane, nameof(y));
        unsafe
        {
            fixed (float* px = x, py = y)
            {
                nint xA = (nint)px, yA = (nint)py;
                ParallelChunks((long)batch * plane, Math.Max(1, 4096 / channels), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (t0, t1) =>
                {
                    var column = new float[channels];
                    for (long t = t0; t < t1; t++)
                    {
                        long b = t / plane, p = t % plane;
                        float* src = (float*)xA + b * channels * plane + p, dst = (float*)yA + b * channels * plane + p;
                        for (int k = 0; k < channels; k++) column[k] = scale * src[(long)k * plane] + shift;
                        Array.Sort(column);
                        for (int k = 0; k < channels; k++) dst[(long)k * plane] = Math.Clamp(column[k], min, max);
                    }
                });
            }
        }
    }
}
