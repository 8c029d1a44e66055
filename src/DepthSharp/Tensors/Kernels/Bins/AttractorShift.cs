using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>
    /// The attractor step on bin centres: for every bin centre c [B, K, plane] and each of n attractors a_i [B, n·stride, plane]
    /// (every stride-th plane), Δ = Σ_i d / (1 + α·d²) with d = a_i + offset − c (divided by n when mean); next = c + Δ.
    /// </summary>
    public static void AttractorShift(ReadOnlySpan<float> centers, int batch, int bins, int plane, ReadOnlySpan<float> attractors,
        int count, int stride, float offset, float alpha, bool mean, Span<float> next)
    {
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < bins; k++)
                for (int p = 0; p < plane; p++)
                {
                    float c = centers[(b * bins + k) * plane + p], delta = 0f;
                    for (int i = 0; i < count; i++)
                    {
                        float d = attractors[(b * count * stride + i * stride) * plane + p] + offset - c;
                        delta += d / (1f + alpha * (d * d));
                    }
                    if (mean) delta /= count;
                    next[(b * bins + k) * plane + p] = c + delta;
                }
    }
}

internal static partial class Fast
{
    /// <summary><see cref="Reference.AttractorShift"/> with the bins of each batch element in parallel, each over whole vectors of pixels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttractorShift(ReadOnlySpan<float> centers, int batch, int bins, int plane, ReadOnlySpan<float> attractors,
        int count, int stride, float offset, float alpha, bool mean, Span<float> next)
    {
        RequireLength(centers.Length, (long)batch * bins * plane, nameof(centers));
        RequireLength(attractors.Length, (long)batch * count * stride * plane, nameof(attractors));
        RequireLength(next.Length, (long)batch * bins * plane, nameof(next));
        unsafe
        {
            fixed (float* pc = centers, pa = attractors, pn = next)
            {
                nint cA = (nint)pc, aA = (nint)pa, nA = (nint)pn;
                ParallelChunks((long)batch * bins, Math.Max(1, (1 << 14) / Math.Max(1, (long)plane * count)), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (t0, t1) =>
                {
                    for (long t = t0; t < t1; t++)
                    {
                        long b = t / bins;
                        float* c = (float*)cA + t * plane, y = (float*)nA + t * plane;
                        float* a0 = (float*)aA + b * count * stride * plane;
                        int p = 0;
                        if (Vector512.IsHardwareAccelerated)
                            for (; p + 16 <= plane; p += 16)
                            {
                                var cv = Vector512.Load(c + p);
                                var delta = Vector512<float>.Zero;
                                for (int i = 0; i < count; i++)
                                {
                                    var d = Vector512.Load(a0 + (long)i * stride * plane + p) + Vector512.Create(offset) - cv;
                                    delta += d / (Vector512<float>.One + Vector512.Create(alpha) * (d * d));
                                }
                                if (mean) delta /= Vector512.Create((float)count);
                                Vector512.Store(cv + delta, y + p);
                            }
                        for (; p < plane; p++)
                        {
                            float delta = 0f;
                            for (int i = 0; i < count; i++)
                            {
                                float d = a0[(long)i * stride * plane + p] + offset - c[p];
                                delta += d / (1f + alpha * (d * d));
                            }
                            if (mean) delta /= count;
                            y[p] = c[p] + delta;
                        }
                    }
                });
            }
        }
    }
}
