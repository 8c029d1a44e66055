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

    /// <summary>PyTorch's softplus (beta 1, threshold 20): x above 20, else log(1 + eˣ), in double.</summary>
    public static void Softplus(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = SoftplusOf(x[i]);
    }

    /// <summary>Below -30, log(1 + eˣ) equals eˣ to double precision, and computing it that way keeps tiny results exact.</summary>
    internal static float SoftplusOf(float x) =>
        x > 20f ? x : x < -30f ? (float)Math.Exp(x) : (float)Math.Log(1.0 + Math.Exp(x));
}
