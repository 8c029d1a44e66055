namespace DepthSharp.Tensors.Kernels;

/// <summary>Plain loop definitions of the kernels ZoeDepth added: attention with a gathered relative position bias, and softplus.</summary>
internal static partial class Reference
{
    /// <summary>
    /// <see cref="Attention"/> with an additive bias before the softmax, shared by every batch element:
    /// out_h = softmax(q_h k_hᵀ · scale + bias_h) v_h, where bias_h[i, j] = table[h·entries + index[j·nq + i]]
    /// (a relative position table [H, entries] and a key-major [Nk, Nq] index into it).
    /// </summary>
    public static void AttentionWithBias(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> table, int entries, ReadOnlySpan<int> index,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
    {
        int width = heads * headDim;
        var scores = new float[nk];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < nq; i++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < nk; j++)
                    {
                        float dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += q[(b * nq + i) * width + h * headDim + d] * k[(b * nk + j) * width + h * headDim + d];
                        scores[j] = dot * scale + table[h * entries + index[j * nq + i]];
                        max = MathF.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < nk; j++) { scores[j] = MathF.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < nk; j++) acc += scores[j] * v[(b * nk + j) * width + h * headDim + d];
                        output[(b * nq + i) * width + h * headDim + d] = (float)(acc / sum);
                    }
                }
    }

    /// <summary>
    /// ZoeDepth's conditional log-binomial distribution over K bins, per pixel: from pt [B, 4, plane] (softplus outputs
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

    /// <summary>
    /// ZoeDepth's attractor step: for every bin centre c [B, K, plane] and each of n attractors a_i [B, n·stride, plane]
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

    /// <summary>PyTorch's softplus (beta 1, threshold 20): x above 20, else log(1 + eˣ), in double.</summary>
    public static void Softplus(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = SoftplusOf(x[i]);
    }

    /// <summary>Below -30, log(1 + eˣ) equals eˣ to double precision, and computing it that way keeps tiny results exact.</summary>
    internal static float SoftplusOf(float x) =>
        x > 20f ? x : x < -30f ? (float)Math.Exp(x) : (float)Math.Log(1.0 + Math.Exp(x));
}
