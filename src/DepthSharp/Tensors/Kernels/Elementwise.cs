using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>a[i] += b[i].</summary>
    public static void AddInPlace(Span<float> a, ReadOnlySpan<float> b)
    {
        for (int i = 0; i < a.Length; i++) a[i] += b[i];
    }

    /// <summary>x[r, c] ← x[r, c] · scale[c] + residual[r, c], rows of dim values.</summary>
    public static void ScaleLastDimAdd(Span<float> x, int dim, ReadOnlySpan<float> scale, ReadOnlySpan<float> residual)
    {
        for (int i = 0; i < x.Length; i++) x[i] = x[i] * scale[i % dim] + residual[i];
    }
}

/// <summary>Sums and layer-scale updates in place, split over threads.</summary>
internal static partial class Fast
{
    /// <summary>a[i] += b[i].</summary>
    public static void AddInPlace(Span<float> a, ReadOnlySpan<float> b)
    {
        if (b.Length != a.Length) throw new ArgumentException("operands differ in length", nameof(b));
        unsafe
        {
            fixed (float* pa = a, pb = b)
            {
                nint x = (nint)pa, y = (nint)pb;
                ParallelChunks(a.Length, 1 << 16, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i0, i1) =>
                {
                    var to = new Span<float>((float*)x + i0, (int)(i1 - i0));
                    TensorPrimitives.Add(to, new ReadOnlySpan<float>((float*)y + i0, (int)(i1 - i0)), to);
                });
            }
        }
    }

    /// <summary>x[r, c] ← x[r, c] · scale[c] + residual[r, c] for rows of <paramref name="dim"/> values (layer scale and skip).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScaleLastDimAdd(Span<float> xs, int dim, ReadOnlySpan<float> scale, ReadOnlySpan<float> residual)
    {
        if (dim <= 0 || scale.Length != dim || xs.Length % dim != 0 || residual.Length != xs.Length)
            throw new ArgumentException($"cannot scale rows of {dim} by {scale.Length} values and add {residual.Length} to {xs.Length}");
        unsafe
        {
            fixed (float* px = xs, ps = scale, pr = residual)
            {
                nint x = (nint)px, sc = (nint)ps, res = (nint)pr;
                ParallelChunks(xs.Length / dim, Math.Max(1, (1 << 14) / dim), [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    var factors = new ReadOnlySpan<float>((float*)sc, dim);
                    for (long r = r0; r < r1; r++)
                    {
                        var row = new Span<float>((float*)x + r * dim, dim);
                        TensorPrimitives.FusedMultiplyAdd(row, factors, new ReadOnlySpan<float>((float*)res + r * dim, dim), row);
                    }
                });
            }
        }
    }
}
