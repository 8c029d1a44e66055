namespace DepthSharp.Tensors.Kernels;

internal static partial class Fast
{
    /// <summary>Softplus in parallel chunks; each value as <see cref="Reference.SoftplusOf"/> (the transcendental dominates, not the loop).</summary>
    public static void Softplus(ReadOnlySpan<float> xs, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(xs.Length, 1 << 14, (i0, i1) =>
                {
                    for (long i = i0; i < i1; i++) ((float*)y)[i] = Reference.SoftplusOf(((float*)x)[i]);
                });
            }
        }
    }
}
