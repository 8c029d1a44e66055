using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

/// <summary>SIMD and multi-threaded versions of the element-wise, normalisation and resampling kernels.</summary>
internal static partial class Fast
{
    /// <summary>Runs body(start, end) over [0, count) in contiguous chunks, one task per chunk, at most Threads at a time.</summary>
    internal static void ParallelChunks(long count, long minChunk, Action<long, long> body)
    {
        int threads = KernelOptions.Threads;
        long chunks = Math.Min(threads * 4L, Math.Max(1, count / Math.Max(1, minChunk)));
        if (chunks <= 1 || threads == 1) { body(0, count); return; }
        long per = (count + chunks - 1) / chunks;
        WorkerTeam.For((int)chunks, c =>
        {
            long start = c * per, end = Math.Min(count, start + per);
            if (start < end) body(start, end);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LayerNorm(ReadOnlySpan<float> xs, int rows, int dim, ReadOnlySpan<float> gs, ReadOnlySpan<float> bs, float eps, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, pg = gs, pb = bs, py = ys)
            {
                nint x = (nint)px, g = (nint)pg, b = (nint)pb, y = (nint)py;
                // A row is a few KiB: ~1 µs of work, so chunks of 64 rows keep the task overhead small.
                ParallelChunks(rows, 64, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    for (long r = r0; r < r1; r++)
                        LayerNormRow((float*)x + r * dim, dim, (float*)g, (float*)b, eps, (float*)y + r * dim);
                });
            }
        }
    }

    /// <summary>One row: mean, then the variance about it (two passes, as the reference computes it), then the affine map.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe void LayerNormRow(float* x, int dim, float* g, float* b, float eps, float* y)
    {
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && dim >= 16)
        {
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= dim; i += 16) acc += Vector512.Load(x + i);
            sum = Vector512.Sum(acc);
        }
        for (; i < dim; i++) sum += x[i];
        float mean = sum / dim;
        i = 0;
        float sq = 0f;
        if (Vector512.IsHardwareAccelerated && dim >= 16)
        {
            var m = Vector512.Create(mean);
            var acc = Vector512<float>.Zero;
            for (; i + 16 <= dim; i += 16)
            {
                var d = Vector512.Load(x + i) - m;
                acc = Vector512.FusedMultiplyAdd(d, d, acc);
            }
            sq = Vector512.Sum(acc);
        }
        for (; i < dim; i++) sq += (x[i] - mean) * (x[i] - mean);
        float inv = 1f / MathF.Sqrt(sq / dim + eps);
        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var m = Vector512.Create(mean);
            var s = Vector512.Create(inv);
            for (; i + 16 <= dim; i += 16)
                Vector512.Store(Vector512.FusedMultiplyAdd((Vector512.Load(x + i) - m) * s, Vector512.Load(g + i), Vector512.Load(b + i)), y + i);
        }
        for (; i < dim; i++) y[i] = (x[i] - mean) * inv * g[i] + b[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNorm(ReadOnlySpan<float> xs, int batch, int channels, int plane,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> ys)
    {
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = gamma[c] / MathF.Sqrt(variance[c] + eps);
            shift[c] = beta[c] - mean[c] * scale[c];
        }
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks((long)batch * channels, 1, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                {
                    for (long p = p0; p < p1; p++)
                    {
                        int c = (int)(p % channels);
                        var dst = new Span<float>((float*)y + p * plane, plane);
                        TensorPrimitives.Multiply(new ReadOnlySpan<float>((float*)x + p * plane, plane), scale[c], dst);
                        TensorPrimitives.Add((ReadOnlySpan<float>)dst, shift[c], dst);
                    }
                });
            }
        }
    }

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

    /// <summary>
    /// Separable: each input row is interpolated along x once into a cached row (two kept, the rows y0 and y1 an output
    /// row blends), then output rows are vector blends of the two. Upsampling reads each input row's x pass for several
    /// output rows instead of redoing its gathers per output row. The arithmetic and its order are the reference's
    /// (ly0·(lx0·a + lx1·b) + ly1·(lx0·c + lx1·d), no fused multiply-adds), so the results are the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ResizeBilinear(ReadOnlySpan<float> xs, int planes, int inH, int inW, int outH, int outW,
        bool alignCorners, double? scaleH, double? scaleW, Span<float> ys)
    {
        float rh = Interp.AreaScale(inH, outH, alignCorners, scaleH);
        float rw = Interp.AreaScale(inW, outW, alignCorners, scaleW);
        var x0 = new int[outW]; var x1 = new int[outW]; var lx0 = new float[outW]; var lx1 = new float[outW];
        for (int ox = 0; ox < outW; ox++) Interp.Linear(rw, ox, inW, alignCorners, out x0[ox], out x1[ox], out lx0[ox], out lx1[ox]);
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint xp = (nint)px, yp = (nint)py;
                ParallelChunks((long)planes * outH, 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    float* rows = Scratch.Get(ScratchSlot.ResizeRows, 2L * outW);
                    // rows[s·outW…] holds the x pass of input row tag[s] of plane `plane`.
                    var slot = stackalloc float*[] { rows, rows + outW };
                    var tag = stackalloc int[] { -1, -1 };
                    long plane = -1;
                    // Pinned column tables: the inner loop then runs without bounds checks.
                    fixed (int* c0 = x0, c1 = x1)
                    fixed (float* w0 = lx0, w1 = lx1)
                        for (long r = r0; r < r1; r++)
                        {
                            long p = r / outH;
                            if (p != plane) { plane = p; tag[0] = tag[1] = -1; }
                            Interp.Linear(rh, (int)(r % outH), inH, alignCorners, out int y0, out int y1, out float ly0, out float ly1);
                            float* src = (float*)xp + p * inH * inW;
                            // Rows only move down within a plane: a miss for y0 evicts the older row, one for y1 the row that is not y0.
                            int s0 = tag[0] == y0 ? 0 : tag[1] == y0 ? 1 : tag[0] < tag[1] ? 0 : 1;
                            if (tag[s0] != y0) { RowPassX(src + (long)y0 * inW, c0, c1, w0, w1, outW, slot[s0]); tag[s0] = y0; }
                            int s1 = tag[s0] == y1 ? s0 : 1 - s0;
                            if (tag[s1] != y1) { RowPassX(src + (long)y1 * inW, c0, c1, w0, w1, outW, slot[s1]); tag[s1] = y1; }
                            BlendRows(slot[s0], ly0, slot[s1], ly1, (float*)yp + r * outW, outW);
                        }
                });
            }
        }
    }

    /// <summary>dst[ox] = w0[ox]·src[c0[ox]] + w1[ox]·src[c1[ox]]. Scalar: AVX2 gathers measured 1.3–1.8× slower here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void RowPassX(float* src, int* c0, int* c1, float* w0, float* w1, int n, float* dst)
    {
        for (int i = 0; i < n; i++) dst[i] = w0[i] * src[c0[i]] + w1[i] * src[c1[i]];
    }

    /// <summary>dst = wa·a + wb·b, multiplied and added separately (as the scalar expression rounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BlendRows(float* a, float wa, float* b, float wb, float* dst, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(wa); var vb = Vector512.Create(wb);
            for (; i + 16 <= n; i += 16) Vector512.Store(va * Vector512.Load(a + i) + vb * Vector512.Load(b + i), dst + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(wa); var vb = Vector256.Create(wb);
            for (; i + 8 <= n; i += 8) Vector256.Store(va * Vector256.Load(a + i) + vb * Vector256.Load(b + i), dst + i);
        }
        for (; i < n; i++) dst[i] = wa * a[i] + wb * b[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ResizeBicubic(ReadOnlySpan<float> xs, int planes, int inH, int inW, int outH, int outW,
        bool alignCorners, double? scaleH, double? scaleW, Span<float> ys)
    {
        float rh = Interp.AreaScale(inH, outH, alignCorners, scaleH);
        float rw = Interp.AreaScale(inW, outW, alignCorners, scaleW);
        var xi = new int[outW * 4];
        var wx = new float[outW * 4];
        for (int ox = 0; ox < outW; ox++)
        {
            int ix = Interp.Cubic(rw, ox, alignCorners, wx.AsSpan(ox * 4, 4));
            for (int c = 0; c < 4; c++) xi[ox * 4 + c] = Math.Clamp(ix - 1 + c, 0, inW - 1);
        }
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint xp = (nint)px, yp = (nint)py;
                ParallelChunks((long)planes * outH, 8, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                {
                    Span<float> wy = stackalloc float[4];
                    for (long r = r0; r < r1; r++)
                    {
                        long p = r / outH;
                        int oy = (int)(r % outH);
                        int iy = Interp.Cubic(rh, oy, alignCorners, wy);
                        float* plane = (float*)xp + p * inH * inW;
                        float* dst = (float*)yp + r * outW;
                        for (int ox = 0; ox < outW; ox++)
                        {
                            float sum = 0;
                            for (int a = 0; a < 4; a++)
                            {
                                float* row = plane + Math.Clamp(iy - 1 + a, 0, inH - 1) * inW;
                                int o4 = ox * 4;
                                float rv = wx[o4] * row[xi[o4]] + wx[o4 + 1] * row[xi[o4 + 1]] + wx[o4 + 2] * row[xi[o4 + 2]] + wx[o4 + 3] * row[xi[o4 + 3]];
                                sum += wy[a] * rv;
                            }
                            dst[ox] = sum;
                        }
                    }
                });
            }
        }
    }
}
