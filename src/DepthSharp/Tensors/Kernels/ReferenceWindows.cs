namespace DepthSharp.Tensors.Kernels;

/// <summary>Plain loops for Swin-style windowed attention: the definitions the fast window kernels are tested against.</summary>
internal static partial class Reference
{
    /// <summary>
    /// x [B, H, W, C] → windows [B·(Hp/ws)·(Wp/ws), ws·ws, C] in three plain steps: zero padding on the right and bottom
    /// to Hp × Wp (whole windows), a cyclic shift by −<paramref name="shift"/> on both axes (padded[(y + s) mod Hp]), and
    /// the cut into ws × ws windows taken row of windows by row of windows.
    /// </summary>
    public static void WindowPartition(ReadOnlySpan<float> x, int batch, int height, int width, int channels, int window, int shift, Span<float> y)
    {
        int hp = (height + window - 1) / window * window, wp = (width + window - 1) / window * window;
        var padded = new float[(long)batch * hp * wp * channels];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++)
                    for (int c = 0; c < channels; c++)
                        padded[(((long)b * hp + i) * wp + j) * channels + c] = x[(((b * height) + i) * width + j) * channels + c];
        var rolled = new float[padded.Length];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hp; i++)
                for (int j = 0; j < wp; j++)
                    for (int c = 0; c < channels; c++)
                        rolled[(((long)b * hp + i) * wp + j) * channels + c] =
                            padded[(((long)b * hp + (i + shift) % hp) * wp + (j + shift) % wp) * channels + c];
        int rows = hp / window, cols = wp / window;
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    for (int a = 0; a < window; a++)
                        for (int e = 0; e < window; e++)
                            for (int c = 0; c < channels; c++)
                                y[(int)(((((long)b * rows + r) * cols + q) * window * window + a * window + e) * channels + c)] =
                                    rolled[(((long)b * hp + r * window + a) * wp + q * window + e) * channels + c];
    }

    /// <summary>
    /// The inverse of <see cref="WindowPartition"/>: windows back into the padded Hp × Wp map, a cyclic shift by
    /// +<paramref name="shift"/>, and the map cropped to its first <paramref name="height"/> rows and <paramref name="width"/> columns.
    /// </summary>
    public static void WindowMerge(ReadOnlySpan<float> windows, int batch, int height, int width, int channels, int window, int shift, Span<float> y)
    {
        int hp = (height + window - 1) / window * window, wp = (width + window - 1) / window * window;
        int rows = hp / window, cols = wp / window;
        var map = new float[(long)batch * hp * wp * channels];
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    for (int a = 0; a < window; a++)
                        for (int e = 0; e < window; e++)
                            for (int c = 0; c < channels; c++)
                                map[(((long)b * hp + r * window + a) * wp + q * window + e) * channels + c] =
                                    windows[(int)(((((long)b * rows + r) * cols + q) * window * window + a * window + e) * channels + c)];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++)
                    for (int c = 0; c < channels; c++)
                        y[(((b * height) + i) * width + j) * channels + c] =
                            map[(((long)b * hp + (i - shift + hp) % hp) * wp + (j - shift + wp) % wp) * channels + c];
    }

    /// <summary>
    /// Cosine attention inside windows, heads interleaved in the last dimension: q, k, v [windows, n, H·D]. For window w,
    /// head h, query i and key j the score is (q̂_i · k̂_j) · scales[h] + table[h, index[j·n + i]] (+ maskValue when
    /// regions[w mod R, i] ≠ regions[w mod R, j], R = regions.Length / n, if regions are given), where x̂ = x / max(‖x‖, 1e-12)
    /// over the head's D values; softmax over j; output = Σ_j p_j v_j.
    /// </summary>
    public static void WindowAttention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int windows, int n, int heads, int headDim, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> table, int entries, ReadOnlySpan<int> index,
        ReadOnlySpan<int> regions, float maskValue, Span<float> output)
    {
        int width = heads * headDim;
        int regionWindows = regions.IsEmpty ? 0 : regions.Length / n;
        var qn = new float[n * headDim];
        var kn = new float[n * headDim];
        var scores = new float[n];
        for (int w = 0; w < windows; w++)
            for (int h = 0; h < heads; h++)
            {
                Normalize(q, w, h, n, width, headDim, qn);
                Normalize(k, w, h, n, width, headDim, kn);
                for (int i = 0; i < n; i++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        float dot = 0;
                        for (int d = 0; d < headDim; d++) dot += qn[i * headDim + d] * kn[j * headDim + d];
                        scores[j] = dot * scales[h] + table[h * entries + index[j * n + i]];
                        if (regionWindows > 0)
                        {
                            int row = w % regionWindows * n;
                            if (regions[row + i] != regions[row + j]) scores[j] += maskValue;
                        }
                        max = MathF.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) { scores[j] = MathF.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += scores[j] * v[(w * n + j) * width + h * headDim + d];
                        output[(w * n + i) * width + h * headDim + d] = (float)(acc / sum);
                    }
                }
            }
    }

    /// <summary>Head h's rows of window w of x, each divided by max(its L2 norm, 1e-12) (F.normalize), into dst [n, D].</summary>
    private static void Normalize(ReadOnlySpan<float> x, int w, int h, int n, int width, int headDim, float[] dst)
    {
        for (int i = 0; i < n; i++)
        {
            int at = (w * n + i) * width + h * headDim;
            double ss = 0;
            for (int d = 0; d < headDim; d++) ss += (double)x[at + d] * x[at + d];
            float norm = MathF.Max((float)Math.Sqrt(ss), 1e-12f);
            for (int d = 0; d < headDim; d++) dst[i * headDim + d] = x[at + d] / norm;
        }
    }
}
