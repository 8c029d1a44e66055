namespace DepthSharp.Imaging;

/// <summary>How the components of a frame are to be read (libjpeg's jpeg_color_space guess).</summary>
internal enum JpegColorSpace
{
    Gray,
    YCbCr,
    Rgb,
    Cmyk,
    Ycck,
}

/// <summary>
/// Turns decoded component planes into 8-bit RGB the way djpeg does with its defaults: libjpeg-turbo's
/// "fancy" triangle-filter upsampling for 2:1 ratios (box replication otherwise), its integer
/// YCbCr-to-RGB tables, and for four-component files Pillow's CMYK-to-RGB conversion.
/// </summary>
internal static class JpegColorConverter
{
    const int ScaleBits = 16;
    const int OneHalf = 1 << (ScaleBits - 1);

    // jdcolor.c's tables: FIX(x) = round(x * 2^16); the red and blue terms are rounded here,
    // the green term is summed first and shifted per pixel (Cb's entry carries the rounding).
    static readonly int[] CrToR = new int[256];
    static readonly int[] CbToB = new int[256];
    static readonly int[] CrToG = new int[256];
    static readonly int[] CbToG = new int[256];

    /// <summary>Clamp to 0..255 for values from -384 to 639 (index + 384).</summary>
    static readonly byte[] Clamp = new byte[1024];

    static JpegColorConverter()
    {
        static int Fix(double x) => (int)(x * (1 << ScaleBits) + 0.5);
        for (int i = 0; i < 256; i++)
        {
            int x = i - 128;
            CrToR[i] = (Fix(1.40200) * x + OneHalf) >> ScaleBits;
            CbToB[i] = (Fix(1.77200) * x + OneHalf) >> ScaleBits;
            CrToG[i] = -Fix(0.71414) * x;
            CbToG[i] = -Fix(0.34414) * x + OneHalf;
        }
        for (int i = 0; i < Clamp.Length; i++)
            Clamp[i] = (byte)Math.Clamp(i - 384, 0, 255);
    }

    public static RgbImage Convert(JpegFrame frame, JpegColorSpace space)
    {
        int width = frame.Width, height = frame.Height;
        JpegComponent[] comps = frame.Components;
        var upsamplers = new Upsampler[comps.Length];
        for (int i = 0; i < comps.Length; i++)
            upsamplers[i] = new Upsampler(comps[i], frame);

        var pixels = new byte[(long)width * height * 3];
        for (int y = 0; y < height; y++)
        {
            Span<byte> outRow = pixels.AsSpan(y * width * 3, width * 3);
            ReadOnlySpan<byte> c0 = upsamplers[0].Row(y, width);
            switch (space)
            {
                case JpegColorSpace.Gray:
                    GrayRow(c0, outRow);
                    break;
                case JpegColorSpace.YCbCr:
                    YccRow(c0, upsamplers[1].Row(y, width), upsamplers[2].Row(y, width), outRow);
                    break;
                case JpegColorSpace.Rgb:
                    RgbRow(c0, upsamplers[1].Row(y, width), upsamplers[2].Row(y, width), outRow);
                    break;
                default:
                    CmykRow(c0, upsamplers[1].Row(y, width), upsamplers[2].Row(y, width), upsamplers[3].Row(y, width),
                        space == JpegColorSpace.Ycck, outRow);
                    break;
            }
        }
        return new RgbImage(width, height, pixels);
    }

    static void GrayRow(ReadOnlySpan<byte> g, Span<byte> o)
    {
        g = g[..(o.Length / 3)];
        for (int x = 0; x < g.Length; x++)
        {
            byte v = g[x];
            o[3 * x] = v;
            o[3 * x + 1] = v;
            o[3 * x + 2] = v;
        }
    }

    static void RgbRow(ReadOnlySpan<byte> r, ReadOnlySpan<byte> g, ReadOnlySpan<byte> b, Span<byte> o)
    {
        int n = o.Length / 3;
        r = r[..n];
        g = g[..n];
        b = b[..n];
        for (int x = 0; x < n; x++)
        {
            o[3 * x] = r[x];
            o[3 * x + 1] = g[x];
            o[3 * x + 2] = b[x];
        }
    }

    static void YccRow(ReadOnlySpan<byte> yRow, ReadOnlySpan<byte> cbRow, ReadOnlySpan<byte> crRow, Span<byte> o)
    {
        int n = o.Length / 3;
        yRow = yRow[..n];
        cbRow = cbRow[..n];
        crRow = crRow[..n];
        int[] crR = CrToR, cbB = CbToB, crG = CrToG, cbG = CbToG;
        byte[] clamp = Clamp;
        for (int x = 0; x < n; x++)
        {
            int y = yRow[x] + 384;
            int cb = cbRow[x], cr = crRow[x];
            o[3 * x] = clamp[y + crR[cr]];
            o[3 * x + 1] = clamp[y + ((cbG[cb] + crG[cr]) >> ScaleBits)];
            o[3 * x + 2] = clamp[y + cbB[cb]];
        }
    }

    static void CmykRow(ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, ReadOnlySpan<byte> c3,
        bool ycck, Span<byte> o)
    {
        int n = o.Length / 3;
        c0 = c0[..n];
        c1 = c1[..n];
        c2 = c2[..n];
        c3 = c3[..n];
        for (int x = 0; x < n; x++)
        {
            int c = c0[x], m = c1[x], yy = c2[x], k = c3[x];
            if (ycck)
            {
                // libjpeg's YCCK -> CMYK: the YCbCr transform, complemented; K passes through.
                int y = c, cb = m, cr = yy;
                c = Clamp[384 + 255 - (y + CrToR[cr])];
                m = Clamp[384 + 255 - (y + ((CbToG[cb] + CrToG[cr]) >> ScaleBits))];
                yy = Clamp[384 + 255 - (y + CbToB[cb])];
            }
            // libjpeg hands over Adobe-style (inverted) CMYK; Pillow reads it as "CMYK;I", i.e.
            // complements every channel, then converts with R = (255 - K') - C' * (255 - K') / 255,
            // which in terms of the stored values is R = k - (255 - c) * k / 255 with Pillow's rounding.
            o[3 * x] = (byte)(k - MulDiv255(255 - c, k));
            o[3 * x + 1] = (byte)(k - MulDiv255(255 - m, k));
            o[3 * x + 2] = (byte)(k - MulDiv255(255 - yy, k));
        }
    }

    /// <summary>Pillow's MULDIV255: a * b / 255 rounded, for 0 &lt;= a, b &lt;= 255.</summary>
    static int MulDiv255(int a, int b)
    {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /// <summary>Produces full-resolution rows of one component.</summary>
    sealed class Upsampler
    {
        enum Method { Full, H2V1Fancy, H1V2Fancy, H2V2Fancy, Replicate }

        readonly JpegComponent _c;
        readonly Method _method;
        readonly int _hExpand, _vExpand;
        readonly byte[] _row;

        public Upsampler(JpegComponent c, JpegFrame frame)
        {
            _c = c;
            _hExpand = frame.MaxH / c.H;
            _vExpand = frame.MaxV / c.V;
            // jdsample.c's choice: triangle filters for 2:1 ratios (h2v1 and h2v2 only when the
            // component is wider than 2 samples), box replication for every other integral ratio.
            _method = (_hExpand, _vExpand) switch
            {
                (1, 1) => Method.Full,
                (2, 1) when c.Width > 2 => Method.H2V1Fancy,
                (1, 2) => Method.H1V2Fancy,
                (2, 2) when c.Width > 2 => Method.H2V2Fancy,
                _ => Method.Replicate,
            };
            // Room for every sample the filters write: up to Width * hExpand, at least a full row.
            _row = new byte[Math.Max(c.Width * _hExpand, frame.Width) + 1];
        }

        public ReadOnlySpan<byte> Row(int y, int width)
        {
            JpegComponent c = _c;
            switch (_method)
            {
                case Method.Full:
                    return c.SampleRow(y);
                case Method.H2V1Fancy:
                    H2V1(c.SampleRow(y)[..c.Width], _row);
                    return _row;
                case Method.H1V2Fancy:
                {
                    // Nearer row weighs 3, the next nearer 1; above uses bias 1, below bias 2.
                    int near = y >> 1;
                    bool below = (y & 1) != 0;
                    int far = below ? Math.Min(near + 1, c.Height - 1) : Math.Max(near - 1, 0);
                    ReadOnlySpan<byte> a = c.SampleRow(near)[..c.Width], b = c.SampleRow(far)[..c.Width];
                    int bias = below ? 2 : 1;
                    Span<byte> o = _row.AsSpan(0, c.Width);
                    for (int x = 0; x < o.Length; x++)
                        o[x] = (byte)((a[x] * 3 + b[x] + bias) >> 2);
                    return _row;
                }
                case Method.H2V2Fancy:
                {
                    int near = y >> 1;
                    bool below = (y & 1) != 0;
                    int far = below ? Math.Min(near + 1, c.Height - 1) : Math.Max(near - 1, 0);
                    H2V2(c.SampleRow(near)[..c.Width], c.SampleRow(far)[..c.Width], _row);
                    return _row;
                }
                default:
                {
                    ReadOnlySpan<byte> src = c.SampleRow(y / _vExpand);
                    Span<byte> o = _row.AsSpan(0, width);
                    int h = _hExpand;
                    for (int x = 0; x < o.Length; x++)
                        o[x] = src[x / h];
                    return _row;
                }
            }
        }

        /// <summary>jdsample.c h2v1_fancy_upsample: 3/4 nearer + 1/4 further, alternating rounding.</summary>
        static void H2V1(ReadOnlySpan<byte> src, Span<byte> o)
        {
            int n = src.Length;
            o = o[..(2 * n)];
            int v = src[0];
            o[0] = (byte)v;
            o[1] = (byte)((v * 3 + src[1] + 2) >> 2);
            for (int i = 1; i < n - 1; i++)
            {
                v = src[i] * 3;
                o[2 * i] = (byte)((v + src[i - 1] + 1) >> 2);
                o[2 * i + 1] = (byte)((v + src[i + 1] + 2) >> 2);
            }
            v = src[n - 1];
            o[2 * n - 2] = (byte)((v * 3 + src[n - 2] + 1) >> 2);
            o[2 * n - 1] = (byte)v;
        }

        /// <summary>jdsample.c h2v2_fancy_upsample: vertical 3:1 column sums, then the same horizontally.</summary>
        static void H2V2(ReadOnlySpan<byte> near, ReadOnlySpan<byte> far, Span<byte> o)
        {
            int n = near.Length;
            far = far[..n];
            o = o[..(2 * n)];
            int thisSum = near[0] * 3 + far[0];
            int nextSum = near[1] * 3 + far[1];
            o[0] = (byte)((thisSum * 4 + 8) >> 4);
            o[1] = (byte)((thisSum * 3 + nextSum + 7) >> 4);
            int lastSum = thisSum;
            thisSum = nextSum;
            for (int i = 1; i < n - 1; i++)
            {
                nextSum = near[i + 1] * 3 + far[i + 1];
                o[2 * i] = (byte)((thisSum * 3 + lastSum + 8) >> 4);
                o[2 * i + 1] = (byte)((thisSum * 3 + nextSum + 7) >> 4);
                lastSum = thisSum;
                thisSum = nextSum;
            }
            o[2 * n - 2] = (byte)((thisSum * 3 + lastSum + 8) >> 4);
            o[2 * n - 1] = (byte)((thisSum * 4 + 7) >> 4);
        }
    }
}
