using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>
    /// The log-binomial distribution over K bins, per pixel: from pt [B, 4, plane] (softplus outputs
    /// p₀, p₁, t₀, t₁) the probability p = p₀ / (p₀ + p₁) and temperature t = min + range · t₀ / (t₀ + t₁) (each term
    /// offset by 1e-4), then y[b, k] = softmax_k((logBinom[k] + k·log p + (K-1-k)·log(1-p)) / t), y [B, K, plane].
    /// </summary>
    public static void LogBinomialSoftmax(ReadOnlySpan<float> pt, int batch, int plane, ReadOnlySpan<float> logBinom,
        float minTemp, float tempRange, Span<float> y)
    {
        int k = logBinom.Length;
        var logP = new float[plane];
        var log1mP = new float[plane];
        var temperature = new float[plane];
        var max = new float[plane];
        var sum = new float[plane];
        for (int b = 0; b < batch; b++)
        {
            var src = pt.Slice(b * 4 * plane, 4 * plane);
            for (int p = 0; p < plane; p++)
                BinParameters(src[p], src[plane + p], src[2 * plane + p], src[3 * plane + p], minTemp, tempRange, out logP[p], out log1mP[p], out temperature[p]);
            var planes = y.Slice(b * k * plane, k * plane);
            for (int i = 0; i < k; i++)
            {
                var logits = planes.Slice(i * plane, plane);
                for (int p = 0; p < plane; p++)
                {
                    logits[p] = (logBinom[i] + i * logP[p] + (k - 1 - i) * log1mP[p]) / temperature[p];
                    max[p] = i == 0 ? logits[p] : MathF.Max(max[p], logits[p]);
                }
            }
            Array.Clear(sum);
            for (int i = 0; i < k; i++)
                for (int p = 0; p < plane; p++)
                {
                    planes[i * plane + p] = MathF.Exp(planes[i * plane + p] - max[p]);
                    sum[p] += planes[i * plane + p];
                }
            for (int i = 0; i < k; i++)
                for (int p = 0; p < plane; p++) planes[i * plane + p] /= sum[p];
        }
    }

    /// <summary>One pixel's log p, log(1 − p) (p clamped to [1e-4, 1]) and temperature from its four softplus outputs.</summary>
    internal static void BinParameters(float p0, float p1, float t0, float t1, float minTemp, float tempRange,
        out float logP, out float log1mP, out float temperature)
    {
        const float eps = 1e-4f;
        p0 += eps; p1 += eps; t0 += eps; t1 += eps;
        float prob = p0 / (p0 + p1);
        temperature = tempRange * (t0 / (t0 + t1)) + minTemp;
        logP = MathF.Log(Math.Clamp(prob, eps, 1f));
        log1mP = MathF.Log(Math.Clamp(1f - prob, eps, 1f));
    }
}

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
}
