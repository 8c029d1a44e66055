using System.Runtime.CompilerServices;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>PyTorch's softplus (beta 1, threshold 20): x above 20, else log(1 + eˣ), in double.</summary>
    public static void Softplus(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = SoftplusOf(x[i]);
    }

    /// <summary>Below -30, log(1 + eˣ) equals eˣ to double precision, and computing it that way keeps tiny results exact.</summary>
    internal static float SoftplusOf(float x) =>
        x > 20f ? x : x < -30f ? (float)Math.Exp(x) : (float)Math.Log(1.0 + Math.Exp(x));
}

internal static partial class Fast
{
    /// <summary>Softplus in parallel chunks; each value as <see cref="Reference.SoftplusOf"/> (the transcendental dominates, not the loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softplus(ReadOnlySpan<float> xs, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(xs.Length, 1 << 14, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i0, i1) =>
                {
                    for (long i = i0; i < i1; i++) ((float*)y)[i] = Reference.SoftplusOf(((float*)x)[i]);
                });
            }
        }
    }
}
