namespace DepthSharp.Tensors.Kernels;

// Staging: these route to the reference loops until the blocked SIMD kernels land (kernels branch).
internal static partial class Fast
{
    public static void Conv2d(ConvShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
        => Reference.Conv2d(s, x, w, bias, y);

    public static void ConvTranspose2d(ConvShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
        => Reference.ConvTranspose2d(s, x, w, bias, y);

    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
        => Reference.Attention(q, k, v, batch, nq, nk, heads, headDim, scale, output);
}
