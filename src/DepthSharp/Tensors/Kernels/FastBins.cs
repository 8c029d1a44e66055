using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Fast
{
    /// <summary>
    /// <see cref="Reference.LogBinomialSoftmax"/> in parallel chunks of pixels, each chunk's bins in vectors: the
    /// [bins, chunk] block of logits stays in cache from the logits through the exponentials to the division.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogBinomialSoftmax(ReadOnlySpan<float> pts, int batch, int plane, ReadOnlySpan<float> logBinoms,
        float minTemp, float tempRange, Span<float> ys)
    {
        int bins = logBinoms.Length;
        RequireLength(pts.Length, (long)batch * 4 * plane, nameof(pts));
        RequireLength(ys.Length, (long)batch * bins * plane, nameof(ys));
        const int Chunk = 256;
        int chunks = (plane + Chunk - 1) / Chunk;
        unsafe
        {
            fixed (float* ppt = pts, plb = logBinoms, py = ys)
            {
                nint ptA = (nint)ppt, lbA = (nint)plb, yA = (nint)py;
                ParallelChunks((long)batch * chunks, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (t0, t1) =>
                {
                    float* logP = stackalloc float[Chunk];
                    float* log1mP = stackalloc float[Chunk];
                    float* temp = stackalloc float[Chunk];
                    float* max = stackalloc float[Chunk];
                    float* sum = stackalloc float[Chunk];
                    for (long t = t0; t < t1; t++)
                    {
                        int b = (int)(t / chunks), p0 = (int)(t % chunks) * Chunk, n = Math.Min(Chunk, plane - p0);
                        float* src = (float*)ptA + (long)b * 4 * plane + p0;
                        float* dst = (float*)yA + (long)b * bins * plane + p0;
                        for (int p = 0; p < n; p++)
                            Reference.BinParameters(src[p], src[plane + p], src[2 * plane + p], src[3 * plane + p], minTemp, tempRange,
                                out logP[p], out log1mP[p], out temp[p]);
                        for (int i = 0; i < bins; i++)
                        {
                            float* logits = dst + (long)i * plane;
                            float lb = ((float*)lbA)[i], up = i, down = bins - 1 - i;
                            int p = 0;
                            if (Vector512.IsHardwareAccelerated)
                                for (; p + 16 <= n; p += 16)
                                {
                                    var l = (Vector512.Create(lb) + Vector512.Create(up) * Vector512.Load(logP + p)
                                        + Vector512.Create(down) * Vector512.Load(log1mP + p)) / Vector512.Load(temp + p);
                                    Vector512.Store(l, logits + p);
                                    Vector512.Store(i == 0 ? l : Vector512.Max(l, Vector512.Load(max + p)), max + p);
                                }
                            for (; p < n; p++)
                            {
                                float l = (lb + up * logP[p] + down * log1mP[p]) / temp[p];
                                logits[p] = l;
                                max[p] = i == 0 ? l : MathF.Max(l, max[p]);
                            }
                        }
                        new Span<float>(sum, n).Clear();
                        for (int i = 0; i < bins; i++)
                        {
                            float* e = dst + (long)i * plane;
                            int p = 0;
                            if (Vector512.IsHardwareAccelerated)
                                for (; p + 16 <= n; p += 16)
                                {
                                    var v = VecMath.Exp(Vector512.Load(e + p) - Vector512.Load(max + p));
                                    Vector512.Store(v, e + p);
                                    Vector512.Store(Vector512.Load(sum + p) + v, sum + p);
                                }
                            for (; p < n; p++) { e[p] = MathF.Exp(e[p] - max[p]); sum[p] += e[p]; }
                        }
                        for (int i = 0; i < bins; i++)
                        {
                            var e = new Span<float>(dst + (long)i * plane, n);
                            System.Numerics.Tensors.TensorPrimitives.Divide(e, new ReadOnlySpan<float>(sum, n), e);
                        }
                    }
                });
            }
        }
    }

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
