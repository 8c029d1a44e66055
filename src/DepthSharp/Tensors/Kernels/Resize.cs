using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>
    /// Bilinear resize of x[planes,inH,inW] to y[planes,outH,outW] with PyTorch's source-index rule.
    /// scaleH/scaleW are the user's scale factors (output/input) when interpolate was called with scale_factor, else null.
    /// </summary>
    public static void ResizeBilinear(ReadOnlySpan<float> x, int planes, int inH, int inW, int outH, int outW,
        bool alignCorners, double? scaleH, double? scaleW, Span<float> y)
    {
        float rh = Interp.AreaScale(inH, outH, alignCorners, scaleH);
        float rw = Interp.AreaScale(inW, outW, alignCorners, scaleW);
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outH; oy++)
            {
                Interp.Linear(rh, oy, inH, alignCorners, out int y0, out int y1, out float ly0, out float ly1);
                for (int ox = 0; ox < outW; ox++)
                {
                    Interp.Linear(rw, ox, inW, alignCorners, out int x0, out int x1, out float lx0, out float lx1);
                    var plane = x.Slice(p * inH * inW, inH * inW);
                    y[(p * outH + oy) * outW + ox] =
                        ly0 * (lx0 * plane[y0 * inW + x0] + lx1 * plane[y0 * inW + x1]) +
                        ly1 * (lx0 * plane[y1 * inW + x0] + lx1 * plane[y1 * inW + x1]);
                }
            }
    }

    /// <summary>Bicubic resize (A = -0.75, borders clamped), PyTorch's semantics; arguments as <see cref="ResizeBilinear"/>.</summary>
    public static void ResizeBicubic(ReadOnlySpan<float> x, int planes, int inH, int inW, int outH, int outW,
        bool alignCorners, double? scaleH, double? scaleW, Span<float> y)
    {
        float rh = Interp.AreaScale(inH, outH, alignCorners, scaleH);
        float rw = Interp.AreaScale(inW, outW, alignCorners, scaleW);
        Span<float> wy = stackalloc float[4];
        Span<float> wx = stackalloc float[4];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * inH * inW, inH * inW);
            for (int oy = 0; oy < outH; oy++)
            {
                int iy = Interp.Cubic(rh, oy, alignCorners, wy);
                for (int ox = 0; ox < outW; ox++)
                {
                    int ix = Interp.Cubic(rw, ox, alignCorners, wx);
                    float sum = 0;
                    for (int a = 0; a < 4; a++)
                    {
                        int yy = Math.Clamp(iy - 1 + a, 0, inH - 1);
                        float row = 0;
                        for (int c = 0; c < 4; c++)
                            row += wx[c] * plane[yy * inW + Math.Clamp(ix - 1 + c, 0, inW - 1)];
                        sum += wy[a] * row;
                    }
                    y[(p * outH + oy) * outW + ox] = sum;
                }
            }
        }
    }
}

/// <summary>Bilinear and bicubic resizing, separable and split over planes.</summary>
internal static partial class Fast
{
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
