using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>
    /// y = conv(x, w[O, C/groups, KH, KW]) + bias[O], zero padding, with the channels split into <paramref name="groups"/>
    /// groups: output channel o reads only the C/groups input channels of group o / (O/groups). Maps are x[B,C,H,W] and
    /// y[B,O,OH,OW], or with <paramref name="channelsLast"/> x[B,H,W,C] and y[B,OH,OW,O].
    /// </summary>
    public static void GroupedConv2d(ConvShape s, int groups, bool channelsLast, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> y)
    {
        int oh = s.OutH, ow = s.OutW, cg = s.InChannels / groups, og = s.OutChannels / groups;
        int In(int b, int c, int iy, int ix) => channelsLast
            ? ((b * s.InH + iy) * s.InW + ix) * s.InChannels + c
            : ((b * s.InChannels + c) * s.InH + iy) * s.InW + ix;
        int Out(int b, int o, int yy, int xx) => channelsLast
            ? ((b * oh + yy) * ow + xx) * s.OutChannels + o
            : ((b * s.OutChannels + o) * oh + yy) * ow + xx;
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
                                    sum += x[In(b, c0 + c, iy, ix)] * w[((o * cg + c) * s.KernelH + ky) * s.KernelW + kx];
                                }
                            }
                        y[Out(b, o, yy, xx)] = sum;
                    }
            }
    }
}

internal static partial class Fast
{
    /// <summary>
    /// <see cref="Reference.GroupedConv2d"/>. Channels first: one group is the plain convolution; one input channel per
    /// group (depthwise, possibly with several outputs per channel) convolves each plane directly, SIMD along the rows;
    /// other groupings run the convolution GEMM per image and group on that group's slices. Channels last: a depthwise
    /// convolution (one input and one output channel per group) runs SIMD along the channels of each pixel; other
    /// groupings are transposed to channels first and back.
    /// </summary>
    public static void GroupedConv2d(ConvShape s, int groups, bool channelsLast, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> bias, Span<float> y)
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
        if (channelsLast)
        {
            if (cg == 1 && og == 1) DepthwiseChannelsLast(s, x, w, bias, y);
            else ViaChannelsFirst(s, groups, x, w, bias, y);
            return;
        }
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

    /// <summary>A channels-last grouped convolution through the channels-first kernels: input and output transposed.</summary>
    private static void ViaChannelsFirst(ConvShape s, int groups, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        int inLength = s.Batch * s.InChannels * s.InH * s.InW, outLength = s.Batch * s.OutChannels * s.OutH * s.OutW;
        var xFirst = ArrayPool<float>.Shared.Rent(inLength);
        var yFirst = ArrayPool<float>.Shared.Rent(outLength);
        try
        {
            Permute(x[..inLength], [s.Batch, s.InH, s.InW, s.InChannels], [0, 3, 1, 2], xFirst.AsSpan(0, inLength));
            GroupedConv2d(s, groups, channelsLast: false, xFirst.AsSpan(0, inLength), w, bias, yFirst.AsSpan(0, outLength));
            Permute(yFirst.AsSpan(0, outLength), [s.Batch, s.OutChannels, s.OutH, s.OutW], [0, 2, 3, 1], y[..outLength]);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xFirst);
            ArrayPool<float>.Shared.Return(yFirst);
        }
    }

    /// <summary>
    /// One input channel per group, channels first: output plane (b, o) is input plane (b, o / outPerChannel) convolved
    /// with its own kernel. Planes are split between the threads; each output row sums its taps in registers, 16 pixels
    /// at a time where every tap of a stride-1 row lies inside the input, pixel by pixel at the padded edges and for
    /// other strides.
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

    /// <summary>
    /// Depthwise, channels last: every output pixel is, channel by channel, the sum of its taps' pixels times that
    /// channel's kernel; taps in the zero padding are skipped. Rows of output pixels are split between the threads;
    /// each pixel's channels are summed 64 at a time in registers, its input and output read and written once, in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DepthwiseChannelsLast(ConvShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        int channels = s.InChannels, taps = s.KernelH * s.KernelW;
        // The kernels tap-major, [taps, C]: a tap's weights for consecutive channels sit together, as the pixels' do.
        var tapMajor = ArrayPool<float>.Shared.Rent(taps * channels);
        for (int c = 0; c < channels; c++)
            for (int t = 0; t < taps; t++) tapMajor[t * channels + c] = w[c * taps + t];
        try
        {
            fixed (float* px = x, pw = tapMajor, pb = bias, py = y)
            {
                nint xA = (nint)px, wA = (nint)pw, bA = bias.IsEmpty ? 0 : (nint)pb, yA = (nint)py;
                long rowFloats = (long)s.OutW * channels;
                ParallelChunks((long)s.Batch * s.OutH, Math.Max(1, (1 << 14) / Math.Max(1, rowFloats)),
                    [MethodImpl(MethodImplOptions.AggressiveOptimization)] (r0, r1) =>
                    {
                        for (long r = r0; r < r1; r++)
                        {
                            long b = r / s.OutH;
                            float* image = (float*)xA + b * s.InH * s.InW * channels;
                            DepthwiseChannelsLastRow(s, image, (float*)wA, (float*)bA, (int)(r % s.OutH), (float*)yA + r * rowFloats);
                        }
                    });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tapMajor);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void DepthwiseChannelsLastRow(ConvShape s, float* x, float* k, float* bias, int oy, float* y)
    {
        int channels = s.InChannels, kw = s.KernelW, w = s.InW;
        int iy0 = oy * s.StrideH - s.PadH;
        int ky0 = Math.Max(0, -iy0), ky1 = Math.Min(s.KernelH, s.InH - iy0);
        for (int ox = 0; ox < s.OutW; ox++, y += channels)
        {
            int ix0 = ox * s.StrideW - s.PadW;
            int kx0 = Math.Max(0, -ix0), kx1 = Math.Min(kw, w - ix0);
            int c = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; c + 64 <= channels; c += 64)
                {
                    Vector512<float> a0, a1, a2, a3;
                    if (bias == null) a0 = a1 = a2 = a3 = Vector512<float>.Zero;
                    else (a0, a1, a2, a3) = (Vector512.Load(bias + c), Vector512.Load(bias + c + 16), Vector512.Load(bias + c + 32), Vector512.Load(bias + c + 48));
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++)
                        {
                            float* src = x + ((long)(iy0 + ky) * w + ix0 + kx) * channels + c;
                            float* kt = k + (ky * kw + kx) * channels + c;
                            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(src), Vector512.Load(kt), a0);
                            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(src + 16), Vector512.Load(kt + 16), a1);
                            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(src + 32), Vector512.Load(kt + 32), a2);
                            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(src + 48), Vector512.Load(kt + 48), a3);
                        }
                    Vector512.Store(a0, y + c);
                    Vector512.Store(a1, y + c + 16);
                    Vector512.Store(a2, y + c + 32);
                    Vector512.Store(a3, y + c + 48);
                }
                for (; c + 16 <= channels; c += 16)
                {
                    var a = bias == null ? Vector512<float>.Zero : Vector512.Load(bias + c);
                    for (int ky = ky0; ky < ky1; ky++)
                        for (int kx = kx0; kx < kx1; kx++)
                            a = Vector512.FusedMultiplyAdd(Vector512.Load(x + ((long)(iy0 + ky) * w + ix0 + kx) * channels + c),
                                Vector512.Load(k + (ky * kw + kx) * channels + c), a);
                    Vector512.Store(a, y + c);
                }
            }
            for (; c < channels; c++)
            {
                float sum = bias == null ? 0f : bias[c];
                for (int ky = ky0; ky < ky1; ky++)
                    for (int kx = kx0; kx < kx1; kx++)
                        sum = MathF.FusedMultiplyAdd(x[((long)(iy0 + ky) * w + ix0 + kx) * channels + c], k[(ky * kw + kx) * channels + c], sum);
                y[c] = sum;
            }
        }
    }
}
