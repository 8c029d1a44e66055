using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Imaging;

/// <summary>
/// torchvision's F.resize of an 8-bit image tensor with antialias=True (bilinear or bicubic), value for value: PyTorch's
/// CPU kernel for uint8 (the AVX2 one on x86-64, whose integer arithmetic the generic uint8 loop shares; torchvision
/// takes it for bicubic on any CPU, for bilinear on AVX2 and AVX-512 ones, and otherwise resizes in float). Pillow's
/// separable passes and filter bounds (horizontal first, rounded to 8 bits, then vertical), but the normalised double
/// weights become int16 with a precision chosen per pass so that the largest weight fits 15 bits (about 14, where
/// Pillow keeps 22), and the filter polynomials are PyTorch's. The coarser weights round about 0.3–0.5% of values one
/// step away from Pillow's.
/// </summary>
internal static class TorchAntialiasResize
{
    /// <summary>The picture resized to width × height; the same size gives a copy, as the reference returns its input.</summary>
    /// <exception cref="ArgumentException">A size is not positive, or the filter is not bilinear or bicubic.</exception>
    public static RgbImage Resize(RgbImage image, int width, int height, PilFilter filter)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"cannot resize a picture to {width}x{height}");
        var kernel = Kernel(filter);
        if (width == image.Width && height == image.Height) return new RgbImage(width, height, (byte[])image.Pixels.Clone());
        var horizontal = width != image.Width ? Weights.Compute(image.Width, width, kernel) : null;
        var vertical = height != image.Height ? Weights.Compute(image.Height, height, kernel) : null;
        return KernelOptions.ForceReference
            ? ResizeReference(image, width, height, horizontal, vertical)
            : ResizeFast(image, width, height, horizontal, vertical);
    }

    /// <summary>The filter and its support at scale 1 (half PyTorch's interp_size).</summary>
    private static (double Support, Func<double, double> Filter) Kernel(PilFilter filter) => filter switch
    {
        PilFilter.Bilinear => (1.0, Triangle),
        PilFilter.Bicubic => (2.0, KeysCubic),
        _ => throw new ArgumentException($"resampling filter {(int)filter} ({filter}): torchvision resizes image tensors only bilinearly or bicubically"),
    };

    private static double Triangle(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /// <summary>Keys' cubic with a = -0.5 in PyTorch's operation order (Pillow factors the outer piece differently).</summary>
    private static double KeysCubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0.0;
    }

    /// <summary>One pass's taps: for output i, Count[i] inputs from Start[i] with int16 weights KSize apart, in fixed point with Precision fractional bits.</summary>
    internal sealed record Weights(int[] Start, int[] Count, short[] Values, int KSize, int Precision)
    {
        /// <summary>Every double operation is PyTorch's, in its order, so the rounded weights agree exactly.</summary>
        internal static Weights Compute(int inSize, int outSize, (double Support, Func<double, double> Filter) kernel)
        {
            double scale = (double)inSize / outSize;
            double support = scale >= 1.0 ? kernel.Support * scale : kernel.Support;
            int ksize = (int)Math.Ceiling(support) * 2 + 1;
            double invScale = scale >= 1.0 ? 1.0 / scale : 1.0;
            var start = new int[outSize];
            var count = new int[outSize];
            var w = new double[(long)outSize * ksize];
            double wtMax = 0.0;
            for (int i = 0; i < outSize; i++)
            {
                double center = scale * (i + 0.5);
                long xmin = Math.Max((long)(center - support + 0.5), 0L);
                // Rounding can make the span one longer than ksize; the reference clips it.
                long xsize = Math.Clamp(Math.Min((long)(center + support + 0.5), inSize) - xmin, 0L, ksize);
                long at = (long)i * ksize;
                double total = 0.0;
                for (long j = 0; j < xsize; j++)
                {
                    double v = kernel.Filter((j + xmin - center + 0.5) * invScale);
                    w[at + j] = v;
                    total += v;
                }
                if (total != 0.0)
                    for (long j = 0; j < xsize; j++)
                    {
                        w[at + j] /= total;
                        wtMax = Math.Max(wtMax, w[at + j]);
                    }
                start[i] = (int)xmin;
                count[i] = (int)xsize;
            }
            // The largest precision (at most 22) at which the largest weight still fits an int16.
            int precision;
            for (precision = 0; precision < 22; precision++)
                if ((int)(0.5 + wtMax * (1 << (precision + 1))) >= 1 << 15) break;
            var values = new short[w.Length];
            for (long k = 0; k < w.Length; k++)
            {
                double v = w[k] * (1 << precision);
                values[k] = (short)(v < 0 ? (int)(-0.5 + v) : (int)(0.5 + v));
            }
            return new Weights(start, count, values, ksize, precision);
        }
    }

    /// <summary>
    /// Threaded over lines, and the horizontal pass only makes the rows the vertical one reads; every sum is exact in
    /// int32, so the result is the reference's bit for bit.
    /// </summary>
    private static RgbImage ResizeFast(RgbImage image, int width, int height, Weights? horizontal, Weights? vertical)
    {
        byte[] source = image.Pixels;
        int firstRow = 0;
        if (horizontal is not null)
        {
            int endRow = image.Height;
            if (vertical is not null)
            {
                firstRow = vertical.Start[0];
                endRow = vertical.Start[height - 1] + vertical.Count[height - 1];
            }
            var rows = new byte[(long)(endRow - firstRow) * width * 3];
            int inStride = image.Width * 3, outStride = width * 3;
            WorkerTeam.For(endRow - firstRow, r =>
                HorizontalLine(image.Pixels.AsSpan((firstRow + r) * inStride, inStride), rows.AsSpan(r * outStride, outStride), horizontal));
            source = rows;
        }
        if (vertical is null) return new RgbImage(width, height, source);
        var output = new byte[(long)width * height * 3];
        int stride = width * 3;
        WorkerTeam.For(height, y =>
        {
            int taps = vertical.Count[y], k0 = y * vertical.KSize, top = vertical.Start[y] - firstRow;
            int half = 1 << (vertical.Precision - 1);
            var line = output.AsSpan(y * stride, stride);
            for (int x = 0; x < stride; x++)
            {
                int sum = half;
                for (int t = 0; t < taps; t++) sum += source[(top + t) * stride + x] * vertical.Values[k0 + t];
                line[x] = Clip8(sum >> vertical.Precision);
            }
        });
        return new RgbImage(width, height, output);
    }

    private static void HorizontalLine(ReadOnlySpan<byte> input, Span<byte> output, Weights h)
    {
        int half = 1 << (h.Precision - 1);
        for (int o = 0; o < h.Start.Length; o++)
        {
            int r = half, g = half, b = half, k0 = o * h.KSize;
            var taps = input.Slice(h.Start[o] * 3, h.Count[o] * 3);
            for (int t = 0, at = 0; t < h.Count[o]; t++, at += 3)
            {
                int w = h.Values[k0 + t];
                r += taps[at] * w;
                g += taps[at + 1] * w;
                b += taps[at + 2] * w;
            }
            output[o * 3] = Clip8(r >> h.Precision);
            output[o * 3 + 1] = Clip8(g >> h.Precision);
            output[o * 3 + 2] = Clip8(b >> h.Precision);
        }
    }

    /// <summary>Plain loops: each pass over every line and channel, one output sample at a time.</summary>
    private static RgbImage ResizeReference(RgbImage image, int width, int height, Weights? horizontal, Weights? vertical)
    {
        byte[] source = image.Pixels;
        if (horizontal is not null)
        {
            var rows = new byte[(long)image.Height * width * 3];
            for (int y = 0; y < image.Height; y++)
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        int sum = 1 << (horizontal.Precision - 1);
                        for (int t = 0; t < horizontal.Count[x]; t++)
                            sum += source[((long)y * image.Width + horizontal.Start[x] + t) * 3 + c] * horizontal.Values[x * horizontal.KSize + t];
                        rows[((long)y * width + x) * 3 + c] = Clip8(sum >> horizontal.Precision);
                    }
            source = rows;
        }
        if (vertical is null) return new RgbImage(width, height, source);
        var output = new byte[(long)width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                {
                    int sum = 1 << (vertical.Precision - 1);
                    for (int t = 0; t < vertical.Count[y]; t++)
                        sum += source[((long)(vertical.Start[y] + t) * width + x) * 3 + c] * vertical.Values[y * vertical.KSize + t];
                    output[((long)y * width + x) * 3 + c] = Clip8(sum >> vertical.Precision);
                }
        return new RgbImage(width, height, output);
    }

    /// <summary>The kernel's saturating packs (int32 → int16 → uint8) amount to a clamp.</summary>
    private static byte Clip8(int value) => (byte)Math.Clamp(value, 0, 255);
}
