using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>
    /// y[B,O,OH,OW] = conv(x[B,C,H,W], w[O, C/groups, KH, KW]) + bias[O], zero padding, with the channels split into
    /// <paramref name="groups"/> groups: output channel o reads only the C/groups input channels of group o / (O/groups).
    /// </summary>
    public static void GroupedConv2d(ConvShape s, int groups, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        int oh = s.OutH, ow = s.OutW, cg = s.InChannels / groups, og = s.OutChannels / groups;
        for (int b = 0; b < s.Batch; b++)
            for (int o = 0; o < s.OutChannels; o++)
            {
                int c0 = o / og * cg;
                for (int yy = 0; yy < oh; yy++)
                    for (int xx = 0; xx < ow; xx++)
                    {
                        float sum = bias.IsEmpty ? 0f : bias[o];
                        for (int c = 0; c < cg; c++)
                            for (int ky = 0; ky < s.KernelH; ky++)
                            {
                                int iy = yy * s.StrideH - s.PadH + ky;
                                if ((uint)iy >= (uint)s.InH) continue;
                                for (int kx = 0; kx < s.KernelW; kx++)
                                {
                                    int ix = xx * s.StrideW - s.PadW + kx;
                                    if ((uint)ix >= (uint)s.InW) continue;
                                    sum += x[((b * s.InChannels + c0 + c) * s.InH + iy) * s.InW + ix]
                                         * w[((o * cg + c) * s.KernelH + ky) * s.KernelW + kx];
                                }
                            }
                        y[((b * s.OutChannels + o) * oh + yy) * ow + xx] = sum;
                    }
            }
    }
}

internal static partial class Fast
{
    /// <summary>
    /// <see cref="Reference.GroupedConv2d"/>. One group is the plain convolution; one input channel per group (depthwise,
    /// possibly with several outputs per channel) convolves each plane directly, SIMD along the rows; other groupings run
    /// the convolution GEMM per image and group on that group's slices.
    /// </summary>
    public static void GroupedConv2d(ConvShape s, int groups, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        s.Validate(transposed: false);
        if (groups <= 0 || s.InChannels % groups != 0 || s.OutChannels % groups != 0)
            throw new ArgumentException($"{groups} groups do not divide {s.InChannels} input and {s.OutChannels} output channels", nameof(groups));
        int cg = s.InChannels / groups, og = s.OutChannels / groups, taps = s.KernelH * s.KernelW;
        long inPlane = (long)s.InH * s.InW, outPlane = (long)s.OutH * s.OutW;
        RequireLength(x.Length, s.Batch * s.InChannels * inPlane, nameof(x));
        RequireLength(w.Length, (long)s.OutChannels * cg * taps, nameof(w));
        RequireLength(y.Length, s.Batch * s.OutChannels * outPlane, nameof(y));
        if (!bias.IsEmpty) RequireLength(bias.Length, s.OutChannels, nameof(bias));
        if (groups == 1)
        {
            Conv2d(s, x, w, bias, y);
            return;
        }
        if (cg == 1)
        {
            Depthwise(s, og, x, w, bias, y);
            return;
        }
        var part = s with { Batch = 1, InChannels = cg, OutChannels = og };
        for (int b = 0; b < s.Batch; b++)
            for (int g = 0; g < groups; g++)
                Conv2d(part, x.Slice((int)((b * s.InChannels + g * cg) * inPlane), (int)(cg * inPlane)),
                    w.Slice(g * og * cg * taps, og * cg * taps), bias.IsEmpty ? default : bias.Slice(g * og, og),
                    y.Slice((int)((b * s.OutChannels + g * og) * outPlane), (int)(og * outPlane)));
    }

    /// <summary>
    /// One input channel per group: output plane (b, o) is input plane (b, o / outPerChannel) convolved with its own
    /// kernel. Planes are split between the threads; each output row sums its taps in registers, 16 pixels at a time
    /// where every tap of a stride-1 row lies inside the input, pixel by pixel at the padded edges and for other strides.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Depthwise(ConvShape s, int outPerChannel, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        long inPlane = (long)s.InH * s.InW, outPlane = (long)s.OutH * s.OutW;
        int taps = s.KernelH * s.KernelW;
        fixed (float* px = x, pw = w, pb = bias, py = y)
        {
            nint xA = (nint)px, wA = (nint)pw, bA = bias.IsEmpty ? 0 : (nint)pb, yA = (nint)py;
            // Planes of a few thousand pixels or more are each worth a task; small ones are grouped.
            ParallelChunks((long)s.Batch * s.OutChannels, Math.Max(1, (1 << 14) / Math.Max(1, outPlane)),
                [MethodImpl(MethodImplOptions.AggressiveOptimization)] (p0, p1) =>
                {
                    for (long p = p0; p < p1; p++)
                    {
                        long b = p / s.OutChannels;
                        int o = (int)(p % s.OutChannels);
                        float* src = (float*)xA + (b * s.InChannels + o / outPerChannel) * inPlane;
                        float start = bA == 0 ? 0f : ((float*)bA)[o];
                        DepthwisePlane(s, src, (float*)wA + (long)o * taps, start, (float*)yA + p * outPlane);
                    }
                });
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DepthwisePlane(ConvShape s, float* x, float* k, float start, float* y)
    {
        int h = s.InH, w = s.InW, kh = s.KernelH, kw = s.KernelW, ow = s.OutW, sh = s.StrideH, sw = s.StrideW, pw = s.PadW;
        // Output columns whose taps all lie inside the row (stride 1): [pw, w − kw + pw], empty for narrow rows.
        int lo = sw == 1 ? Math.Min(pw, ow) : ow, hi = sw == 1 ? Math.Clamp(w - kw + pw + 1, lo, ow) : ow;
        for (int oy = 0; oy < s.OutH; oy++)
        {
            int iy0 = oy * sh - s.PadH;
            int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(kh, h - iy0);
            float* row = y + (long)oy * ow;
            int ox = lo;
            if (Vector512.IsHardwareAccelerated)
                for (; ox + 16 <= hi; ox += 16)
                {
                    var acc = Vector512.Create(start);
                    for (int ky = ky0; ky < ky1; ky++)
                    {
                        float* src = x + (long)(iy0 + ky) * w + ox - pw;
                        float* kr = k + ky * kw;
                        for (int kx = 0; kx < kw; kx++)
                            acc = Vector512.FusedMultiplyAdd(Vector512.Load(src + kx), Vector512.Create(kr[kx]), acc);
                    }
                    Vector512.Store(acc, row + ox);
                }
            for (int c = 0; c < lo; c++) row[c] = DepthwisePixel(s, x, k, start, iy0, ky0, ky1, c);
            for (int c = ox; c < ow; c++) row[c] = DepthwisePixel(s, x, k, start, iy0, ky0, ky1, c);
        }
    }

    /// <summary>One output pixel, skipping the taps that fall in the zero padding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe float DepthwisePixel(ConvShape s, float* x, float* k, float start, int iy0, int ky0, int ky1, int ox)
    {
        int ix0 = ox * s.StrideW - s.PadW, kw = s.KernelW;
        int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(kw, s.InW - ix0);
        float sum = start;
        for (int ky = ky0; ky < ky1; ky++)
        {
            float* src = x + (long)(iy0 + ky) * s.InW + ix0;
            for (int kx = kx0; kx < kx1; kx++) sum = MathF.FusedMultiplyAdd(src[kx], k[ky * kw + kx], sum);
        }
        return sum;
    }
}
