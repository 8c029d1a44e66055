using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>Exact GELU: x · Φ(x) = 0.5 x (1 + erf(x / √2)).</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = (float)(0.5 * x[i] * (1.0 + MathX.Erf(x[i] / Math.Sqrt(2.0))));
    }

    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : 0f;
    }

    /// <summary>SiLU: x · sigmoid(x).</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)(x[i] / (1.0 + Math.Exp(-x[i])));
    }

    /// <summary>Logistic sigmoid: 1 / (1 + e^-x).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)(1.0 / (1.0 + Math.Exp(-x[i])));
    }

    /// <summary>Softmax over each row of x[rows,n].</summary>
    public static void Softmax(ReadOnlySpan<float> x, int rows, int n, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * n, n);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = MathF.Max(max, v);
            double sum = 0;
            for (int i = 0; i < n; i++) sum += Math.Exp(row[i] - max);
            for (int i = 0; i < n; i++) y[r * n + i] = (float)(Math.Exp(row[i] - max) / sum);
        }
    }
}

/// <summary>Activations and the row softmax, vectorised and split over threads.</summary>
internal static partial class Fast
{
    public static void Relu(ReadOnlySpan<float> xs, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(xs.Length, 1 << 16, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i0, i1) =>
                    TensorPrimitives.Max(new ReadOnlySpan<float>((float*)x + i0, (int)(i1 - i0)), 0f, new Span<float>((float*)y + i0, (int)(i1 - i0))));
            }
        }
    }

    /// <summary>x · sigmoid(x); y may be x itself (SiluInPlace), so the sigmoid goes to a scratch chunk, not over x.</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> sigmoid = stackalloc float[1024];
        for (int i = 0; i < x.Length; i += sigmoid.Length)
        {
            int n = Math.Min(sigmoid.Length, x.Length - i);
            TensorPrimitives.Sigmoid(x.Slice(i, n), sigmoid[..n]);
            TensorPrimitives.Multiply(x.Slice(i, n), sigmoid[..n], y.Slice(i, n));
        }
    }

    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(ReadOnlySpan<float> xs, int rows, int n, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(rows, 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    for (long r = r0; r < r1; r++)
                        TensorPrimitives.SoftMax(new ReadOnlySpan<float>((float*)x + r * n, n), new Span<float>((float*)y + r * n, n));
                });
            }
        }
    }

    /// <summary>Exact-GELU with a vectorised erf (Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e-7).</summary>
    public static void Gelu(ReadOnlySpan<float> xs, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(xs.Length, 1 << 14, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (i0, i1) => GeluRange((float*)x, (float*)y, i0, i1));
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void GeluRange(float* x, float* y, long i0, long i1)
    {
        long i = i0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= i1; i += 16)
                Vector512.Store(GeluVec(Vector512.Load(x + i)), y + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= i1; i += 8)
                Vector256.Store(GeluVec(Vector256.Load(x + i)), y + i);
        for (; i < i1; i++) y[i] = GeluScalar(x[i]);
    }

    // Abramowitz–Stegun 7.1.26: erf(z) ≈ 1 − t·P(t)·e^(−z²), t = 1 / (1 + 0.3275911 z), for z ≥ 0; odd in z.
    private const float ErfP = 0.3275911f, ErfA1 = 0.254829592f, ErfA2 = -0.284496736f, ErfA3 = 1.421413741f,
        ErfA4 = -1.453152027f, ErfA5 = 1.061405429f, InvSqrt2 = 0.70710678118654752f;

    private static Vector512<float> GeluVec(Vector512<float> v)
    {
        var z = Vector512.Abs(v) * Vector512.Create(InvSqrt2);
        var t = Vector512<float>.One / (Vector512<float>.One + Vector512.Create(ErfP) * z);
        var poly = Vector512.Create(ErfA5);
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA4));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA3));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA2));
        poly = Vector512.FusedMultiplyAdd(poly, t, Vector512.Create(ErfA1));
        poly *= t;
        var erfAbs = Vector512<float>.One - poly * VecMath.Exp(-(z * z));
        var erf = Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), -erfAbs, erfAbs);
        return Vector512.Create(0.5f) * v * (Vector512<float>.One + erf);
    }

    private static Vector256<float> GeluVec(Vector256<float> v)
    {
        var z = Vector256.Abs(v) * Vector256.Create(InvSqrt2);
        var t = Vector256<float>.One / (Vector256<float>.One + Vector256.Create(ErfP) * z);
        var poly = Vector256.Create(ErfA5);
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA4));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA3));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA2));
        poly = Vector256.FusedMultiplyAdd(poly, t, Vector256.Create(ErfA1));
        poly *= t;
        var erfAbs = Vector256<float>.One - poly * VecMath.Exp(-(z * z));
        var erf = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), -erfAbs, erfAbs);
        return Vector256.Create(0.5f) * v * (Vector256<float>.One + erf);
    }

    private static float GeluScalar(float v)
    {
        float z = MathF.Abs(v) * InvSqrt2;
        float t = 1f / (1f + ErfP * z);
        float poly = ((((ErfA5 * t + ErfA4) * t + ErfA3) * t + ErfA2) * t + ErfA1) * t;
        float erfAbs = 1f - poly * MathF.Exp(-(z * z));
        return 0.5f * v * (1f + (v < 0 ? -erfAbs : erfAbs));
    }
}
