namespace DepthSharp.Imaging;

/// <summary>PIL's resampling filter numbers (Image.Resampling), as preprocessor configs store them.</summary>
public enum PilFilter
{
    /// <summary>PIL.Image.NEAREST: the nearest pixel.</summary>
    Nearest = 0,
    /// <summary>PIL.Image.LANCZOS: a 3-lobed Lanczos window.</summary>
    Lanczos = 1,
    /// <summary>PIL.Image.BILINEAR: a triangle filter, widened when shrinking (antialiased).</summary>
    Bilinear = 2,
    /// <summary>PIL.Image.BICUBIC: a cubic filter with a = -0.5, widened when shrinking (antialiased).</summary>
    Bicubic = 3,
    /// <summary>PIL.Image.BOX: each source pixel weighs the same.</summary>
    Box = 4,
    /// <summary>PIL.Image.HAMMING: a Hamming-windowed sinc, sharper than bilinear.</summary>
    Hamming = 5,
}

/// <summary>
/// Pillow's Image.resize for 8-bit RGB with its convolution filters, value for value: separable passes (horizontal,
/// then vertical), each output a weighted sum of the input samples under the filter, widened by the scale when
/// shrinking (antialiasing); weights are normalised in double, turned into fixed point with 22 fractional bits,
/// summed in integers and rounded back to 8 bits after each pass.
/// </summary>
internal static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>The picture resized to width × height; the same size gives a copy, as Pillow does.</summary>
    public static RgbImage Resize(RgbImage image, int width, int height, PilFilter filter)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"cannot resize a picture to {width}x{height}");
        var (support, kernel) = Filter(filter);
        if (width == image.Width && height == image.Height) return new RgbImage(width, height, (byte[])image.Pixels.Clone());

        var vertical = Coefficients(image.Height, height, support, kernel);
        byte[] source = image.Pixels;
        int firstRow = 0;
        if (width != image.Width)
        {
            // Only the rows the vertical pass reads are resampled horizontally.
            firstRow = vertical.Bounds[0];
            int endRow = vertical.Bounds[2 * (height - 1)] + vertical.Bounds[2 * (height - 1) + 1];
            var horizontal = Coefficients(image.Width, width, support, kernel);
            var temp = new byte[(long)(endRow - firstRow) * width * 3];
            Pass(image.Pixels, image.Width * 3, 3, firstRow * image.Width * 3, temp, width * 3, 3, endRow - firstRow, width, horizontal);
            source = temp;
        }
        if (height == image.Height) return new RgbImage(width, height, source);
        var output = new byte[(long)width * height * 3];
        // The vertical pass walks rows: its taps are rows apart, its outputs pixels apart.
        Pass(source, 3, width * 3, -firstRow * width * 3, output, 3, width * 3, width, height, vertical);
        return new RgbImage(width, height, output);
    }

    /// <summary>
    /// One separable pass. For each of <paramref name="lines"/> lines and each of <paramref name="count"/> outputs
    /// along it, sums the taps the coefficients name; strides are in bytes, channels interleaved by three.
    /// </summary>
    private static void Pass(byte[] src, int srcLineStride, int srcTapStride, int srcOffset, byte[] dst, int dstLineStride, int dstStride,
        int lines, int count, (int[] Bounds, int[] Weights, int KSize) c)
    {
        Tensors.Kernels.WorkerTeam.For(lines, line =>
        {
            int lineStart = srcOffset + line * srcLineStride;
            for (int o = 0; o < count; o++)
            {
                int min = c.Bounds[2 * o], taps = c.Bounds[2 * o + 1], k0 = o * c.KSize;
                int r = 1 << (PrecisionBits - 1), g = r, b = r;
                int at = lineStart + min * srcTapStride;
                for (int t = 0; t < taps; t++, at += srcTapStride)
                {
                    int w = c.Weights[k0 + t];
                    r += src[at] * w;
                    g += src[at + 1] * w;
                    b += src[at + 2] * w;
                }
                int d = line * dstLineStride + o * dstStride;
                dst[d] = Clip8(r);
                dst[d + 1] = Clip8(g);
                dst[d + 2] = Clip8(b);
            }
        });
    }

    private static byte Clip8(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);

    /// <summary>
    /// For each output position: the first input tap, the number of taps, and the fixed-point weights (ksize per output).
    /// Every double operation is the one Pillow performs, in its order, so the rounded weights agree exactly.
    /// </summary>
    private static (int[] Bounds, int[] Weights, int KSize) Coefficients(int inSize, int outSize, double filterSupport, Func<double, double> kernel)
    {
        double scale = (double)(float)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = filterSupport * filterScale;
        int ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var weights = new int[outSize * ksize];
        var k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            double ww = 0;
            for (int x = 0; x < xmax; x++)
            {
                double w = kernel((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++)
            {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * ksize + x] = v < 0 ? (int)(-0.5 + v * (1 << PrecisionBits)) : (int)(0.5 + v * (1 << PrecisionBits));
            }
            bounds[2 * xx] = xmin;
            bounds[2 * xx + 1] = xmax;
        }
        return (bounds, weights, ksize);
    }

    private static (double Support, Func<double, double> Kernel) Filter(PilFilter filter) => filter switch
    {
        PilFilter.Box => (0.5, x => x > -0.5 && x <= 0.5 ? 1.0 : 0.0),
        PilFilter.Bilinear => (1.0, x => Math.Abs(x) < 1.0 ? 1.0 - Math.Abs(x) : 0.0),
        PilFilter.Hamming => (1.0, Hamming),
        PilFilter.Bicubic => (2.0, Bicubic),
        PilFilter.Lanczos => (3.0, x => -3.0 <= x && x < 3.0 ? Sinc(x) * Sinc(x / 3) : 0.0),
        _ => throw new ArgumentException($"resampling filter {(int)filter} ({filter}) is not supported"),
    };

    /// <summary>Keys' cubic convolution with a = -0.5, support 2.</summary>
    private static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    private static double Hamming(double x)
    {
        x = Math.Abs(x);
        if (x == 0.0) return 1.0;
        if (x >= 1.0) return 0.0;
        x *= Math.PI;
        // Pillow writes these constants as C floats, widened to double.
        return Math.Sin(x) / x * (0.54f + 0.46f * Math.Cos(x));
    }

    private static double Sinc(double x)
    {
        if (x == 0.0) return 1.0;
        x *= Math.PI;
        return Math.Sin(x) / x;
    }
}
