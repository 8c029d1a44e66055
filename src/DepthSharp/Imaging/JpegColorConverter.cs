using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
/// YCbCr-to-RGB arithmetic, and for four-component files Pillow's CMYK-to-RGB conversion.
/// </summary>
/// <remarks>The AVX2 paths compute exactly what the scalar ones do, sixteen samples at a time.</remarks>
internal static class JpegColorConverter
{
    private const int ScaleBits = 16;
    private const int OneHalf = 1 << (ScaleBits - 1);

    // jdcolor.c's constants, FIX(x) = round(x * 2^16).
    private static readonly int FixCrR = Fix(1.40200);
    private static readonly int FixCbB = Fix(1.77200);
    private static readonly int FixCrG = Fix(0.71414);
    private static readonly int FixCbG = Fix(0.34414);

    // jdcolor.c's tables: red and blue terms are rounded per entry, the green term is summed
    // first and shifted per pixel (Cb's entry carries the rounding).
    private static readonly int[] CrToR = new int[256];
    private static readonly int[] CbToB = new int[256];
    private static readonly int[] CrToG = new int[256];
    private static readonly int[] CbToG = new int[256];

    /// <summary>Clamp to 0..255 for values from -384 to 639 (index + 384).</summary>
    private static readonly byte[] Clamp = new byte[1024];

    /// <summary>pshufb masks that interleave 16 R, G and B bytes into 48 bytes of RGB.</summary>
    private static readonly Vector128<byte>[] InterleaveMasks = BuildInterleaveMasks();

    private static int Fix(double x) => (int)(x * (1 << ScaleBits) + 0.5);

    static JpegColorConverter()
    {
        for (int i = 0; i < 256; i++)
        {
            int x = i - 128;
            CrToR[i] = (FixCrR * x + OneHalf) >> ScaleBits;
            CbToB[i] = (FixCbB * x + OneHalf) >> ScaleBits;
            CrToG[i] = -FixCrG * x;
            CbToG[i] = -FixCbG * x + OneHalf;
        }
        for (int i = 0; i < Clamp.Length; i++)
            Clamp[i] = (byte)Math.Clamp(i - 384, 0, 255);
    }

    private static Vector128<byte>[] BuildInterleaveMasks()
    {
        // masks[3 * part + channel]: for output bytes 16*part .. 16*part+15, where that channel's bytes come from.
        var masks = new Vector128<byte>[9];
        Span<byte> m = stackalloc byte[16];
        for (int part = 0; part < 3; part++)
        {
            for (int channel = 0; channel < 3; channel++)
            {
                for (int j = 0; j < 16; j++)
                {
                    int index = 16 * part + j;
                    m[j] = index % 3 == channel ? (byte)(index / 3) : (byte)0x80;
                }
                masks[3 * part + channel] = Vector128.Create((ReadOnlySpan<byte>)m);
            }
        }
        return masks;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static RgbImage Convert(JpegFrame frame, JpegColorSpace space, bool simd)
    {
        simd &= Avx2.IsSupported;
        int width = frame.Width, height = frame.Height;
        JpegComponent[] comps = frame.Components;
        var upsamplers = new Upsampler[comps.Length];
        for (int i = 0; i < comps.Length; i++)
            upsamplers[i] = new Upsampler(comps[i], frame, simd);

        var pixels = new byte[(long)width * height * 3];
        for (int y = 0; y < height; y++)
        {
            Span<byte> outRow = pixels.AsSpan(y * width * 3, width * 3);
            ReadOnlySpan<byte> c0 = upsamplers[0].Row(y)[..width];
            switch (space)
            {
                case JpegColorSpace.Gray:
                    InterleaveRow(c0, c0, c0, outRow, simd);
                    break;
                case JpegColorSpace.YCbCr:
                    YccRow(c0, upsamplers[1].Row(y)[..width], upsamplers[2].Row(y)[..width], outRow, simd);
                    break;
                case JpegColorSpace.Rgb:
                    InterleaveRow(c0, upsamplers[1].Row(y)[..width], upsamplers[2].Row(y)[..width], outRow, simd);
                    break;
                default:
                    CmykRow(c0, upsamplers[1].Row(y)[..width], upsamplers[2].Row(y)[..width], upsamplers[3].Row(y)[..width],
                        space == JpegColorSpace.Ycck, outRow);
                    break;
            }
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Writes R, G, B rows (each as long as the output row has pixels) as interleaved RGB.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InterleaveRow(ReadOnlySpan<byte> r, ReadOnlySpan<byte> g, ReadOnlySpan<byte> b, Span<byte> o, bool simd)
    {
        int n = r.Length, x = 0;
        g = g[..n];
        b = b[..n];
        o = o[..(3 * n)];
        if (simd)
        {
            ref byte rr = ref MemoryMarshal.GetReference(r), gr = ref MemoryMarshal.GetReference(g);
            ref byte br = ref MemoryMarshal.GetReference(b), or = ref MemoryMarshal.GetReference(o);
            for (; x + 16 <= n; x += 16)
            {
                Store48(Vector128.LoadUnsafe(ref rr, (nuint)x), Vector128.LoadUnsafe(ref gr, (nuint)x),
                    Vector128.LoadUnsafe(ref br, (nuint)x), ref Unsafe.Add(ref or, 3 * x));
            }
        }
        for (; x < n; x++)
        {
            o[3 * x] = r[x];
            o[3 * x + 1] = g[x];
            o[3 * x + 2] = b[x];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store48(Vector128<byte> r, Vector128<byte> g, Vector128<byte> b, ref byte dst)
    {
        Vector128<byte>[] m = InterleaveMasks;
        for (int part = 0; part < 3; part++)
        {
            Vector128<byte> v = Ssse3.Shuffle(r, m[3 * part]) | Ssse3.Shuffle(g, m[3 * part + 1]) | Ssse3.Shuffle(b, m[3 * part + 2]);
            v.StoreUnsafe(ref dst, (nuint)(16 * part));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void YccRow(ReadOnlySpan<byte> yRow, ReadOnlySpan<byte> cbRow, ReadOnlySpan<byte> crRow, Span<byte> o, bool simd)
    {
        int n = yRow.Length, x = 0;
        cbRow = cbRow[..n];
        crRow = crRow[..n];
        o = o[..(3 * n)];
        if (simd)
        {
            ref byte yr = ref MemoryMarshal.GetReference(yRow), cbr = ref MemoryMarshal.GetReference(cbRow);
            ref byte crr = ref MemoryMarshal.GetReference(crRow), or = ref MemoryMarshal.GetReference(o);
            for (; x + 16 <= n; x += 16)
            {
                Vector128<byte> y = Vector128.LoadUnsafe(ref yr, (nuint)x);
                Vector128<byte> cb = Vector128.LoadUnsafe(ref cbr, (nuint)x);
                Vector128<byte> cr = Vector128.LoadUnsafe(ref crr, (nuint)x);
                YccToRgb8(y, cb, cr, 0, out Vector256<int> r0, out Vector256<int> g0, out Vector256<int> b0);
                YccToRgb8(y, cb, cr, 8, out Vector256<int> r1, out Vector256<int> g1, out Vector256<int> b1);
                Store48(Pack(r0, r1), Pack(g0, g1), Pack(b0, b1), ref Unsafe.Add(ref or, 3 * x));
            }
        }
        int[] crR = CrToR, cbB = CbToB, crG = CrToG, cbG = CbToG;
        byte[] clamp = Clamp;
        for (; x < n; x++)
        {
            int y = yRow[x] + 384;
            int cb = cbRow[x], cr = crRow[x];
            o[3 * x] = clamp[y + crR[cr]];
            o[3 * x + 1] = clamp[y + ((cbG[cb] + crG[cr]) >> ScaleBits)];
            o[3 * x + 2] = clamp[y + cbB[cb]];
        }
    }

    /// <summary>Eight pixels (from byte <paramref name="offset"/>, 0 or 8) of jdcolor.c's ycc_rgb_convert, before clamping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void YccToRgb8(Vector128<byte> y8, Vector128<byte> cb8, Vector128<byte> cr8, int offset,
        out Vector256<int> r, out Vector256<int> g, out Vector256<int> b)
    {
        if (offset != 0)
        {
            y8 = Sse2.ShiftRightLogical128BitLane(y8, 8);
            cb8 = Sse2.ShiftRightLogical128BitLane(cb8, 8);
            cr8 = Sse2.ShiftRightLogical128BitLane(cr8, 8);
        }
        Vector256<int> center = Vector256.Create(128), half = Vector256.Create(OneHalf);
        Vector256<int> y = Avx2.ConvertToVector256Int32(y8);
        Vector256<int> cb = Avx2.ConvertToVector256Int32(cb8) - center;
        Vector256<int> cr = Avx2.ConvertToVector256Int32(cr8) - center;
        r = y + ((cr * FixCrR + half) >> ScaleBits);
        g = y + ((cb * -FixCbG + half - cr * FixCrG) >> ScaleBits);
        b = y + ((cb * FixCbB + half) >> ScaleBits);
    }

    /// <summary>Sixteen ints to sixteen bytes, clamped to 0..255.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Pack(Vector256<int> lo, Vector256<int> hi)
    {
        // The 256-bit pack works per 128-bit lane; the permute restores element order.
        Vector256<short> s = Avx2.Permute4x64(Avx2.PackSignedSaturate(lo, hi).AsInt64(), 0b11_01_10_00).AsInt16();
        return Sse2.PackUnsignedSaturate(s.GetLower(), s.GetUpper());
    }

    private static void CmykRow(ReadOnlySpan<byte> c0, ReadOnlySpan<byte> c1, ReadOnlySpan<byte> c2, ReadOnlySpan<byte> c3,
        bool ycck, Span<byte> o)
    {
        int n = c0.Length;
        c1 = c1[..n];
        c2 = c2[..n];
        c3 = c3[..n];
        o = o[..(3 * n)];
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
    private static int MulDiv255(int a, int b)
    {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    /// <summary>Produces full-resolution rows of one component.</summary>
    private sealed class Upsampler
    {
        private enum Method { Full, H2V1Fancy, H1V2Fancy, H2V2Fancy, Replicate }

        private readonly JpegComponent _c;
        private readonly Method _method;
        private readonly int _hExpand, _vExpand, _width;
        private readonly bool _simd;
        private readonly byte[] _row;
        // Triangle filters: per-column sums with one replicated sum at each end, which makes the
        // general formula produce libjpeg's special first and last columns.
        private readonly ushort[] _sums;

        public Upsampler(JpegComponent c, JpegFrame frame, bool simd)
        {
            _c = c;
            _simd = simd;
            _width = frame.Width;
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
            _row = new byte[Math.Max(c.Width * _hExpand, frame.Width)];
            _sums = new ushort[c.Width + 2];
        }

        /// <summary>Row <paramref name="y"/> at full resolution: at least the frame's width of samples.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ReadOnlySpan<byte> Row(int y)
        {
            JpegComponent c = _c;
            int n = c.Width;
            switch (_method)
            {
                case Method.Full:
                    return c.SampleRow(y);
                case Method.H2V1Fancy:
                {
                    ReadOnlySpan<byte> src = c.SampleRow(y)[..n];
                    for (int i = 0; i < n; i++) _sums[i + 1] = src[i];
                    Triangle(n, 1, 2, 2);
                    return _row;
                }
                case Method.H1V2Fancy:
                {
                    // Nearer row weighs 3, the next nearer 1; above uses bias 1, below bias 2.
                    ReadOnlySpan<byte> near = c.SampleRow(y >> 1)[..n], far = c.SampleRow(FarRow(y))[..n];
                    int bias = (y & 1) != 0 ? 2 : 1;
                    Span<byte> o = _row.AsSpan(0, n);
                    int x = 0;
                    if (_simd)
                    {
                        ref byte nr = ref MemoryMarshal.GetReference(near), fr = ref MemoryMarshal.GetReference(far);
                        ref byte or = ref MemoryMarshal.GetReference(o);
                        Vector256<ushort> b = Vector256.Create((ushort)bias);
                        for (; x + 16 <= n; x += 16)
                        {
                            Vector256<ushort> s = ColumnSums(ref nr, ref fr, x);
                            Vector256<ushort> v = (s + b) >> 2;
                            Sse2.PackUnsignedSaturate(v.GetLower().AsInt16(), v.GetUpper().AsInt16()).StoreUnsafe(ref or, (nuint)x);
                        }
                    }
                    for (; x < n; x++)
                        o[x] = (byte)((near[x] * 3 + far[x] + bias) >> 2);
                    return _row;
                }
                case Method.H2V2Fancy:
                {
                    ReadOnlySpan<byte> near = c.SampleRow(y >> 1)[..n], far = c.SampleRow(FarRow(y))[..n];
                    Span<ushort> sums = _sums.AsSpan(1, n);
                    int x = 0;
                    if (_simd)
                    {
                        ref byte nr = ref MemoryMarshal.GetReference(near), fr = ref MemoryMarshal.GetReference(far);
                        ref ushort sr = ref MemoryMarshal.GetReference(sums);
                        for (; x + 16 <= n; x += 16)
                            ColumnSums(ref nr, ref fr, x).StoreUnsafe(ref sr, (nuint)x);
                    }
                    for (; x < n; x++)
                        sums[x] = (ushort)(near[x] * 3 + far[x]);
                    Triangle(n, 8, 7, 4);
                    return _row;
                }
                default:
                {
                    ReadOnlySpan<byte> src = c.SampleRow(y / _vExpand);
                    Span<byte> o = _row.AsSpan(0, _width);
                    int h = _hExpand;
                    for (int x = 0; x < o.Length; x++)
                        o[x] = src[x / h];
                    return _row;
                }
            }
        }

        /// <summary>The next nearer input row for output row y of a 2:1 vertical filter, clamped to the picture.</summary>
        private int FarRow(int y) => (y & 1) != 0 ? Math.Min((y >> 1) + 1, _c.Height - 1) : Math.Max((y >> 1) - 1, 0);

        /// <summary>3 * near + far for sixteen columns from <paramref name="x"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<ushort> ColumnSums(ref byte near, ref byte far, int x)
        {
            Vector256<ushort> a = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref near, (nuint)x)).AsUInt16();
            Vector256<ushort> b = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref far, (nuint)x)).AsUInt16();
            return a * (ushort)3 + b;
        }

        /// <summary>
        /// Horizontal 2:1 triangle filter over _sums[1..n]: output 2i is (3 s[i] + s[i-1] + biasEven) &gt;&gt; shift,
        /// output 2i+1 is (3 s[i] + s[i+1] + biasOdd) &gt;&gt; shift (jdsample.c's h2v1 and h2v2 filters).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Triangle(int n, int biasEven, int biasOdd, int shift)
        {
            ushort[] s = _sums;
            s[0] = s[1];
            s[n + 1] = s[n];
            Span<byte> o = _row.AsSpan(0, 2 * n);
            int i = 0;
            if (_simd)
            {
                ref ushort sr = ref MemoryMarshal.GetArrayDataReference(s);
                ref byte or = ref MemoryMarshal.GetReference(o);
                Vector256<ushort> be = Vector256.Create((ushort)biasEven), bo = Vector256.Create((ushort)biasOdd);
                for (; i + 16 <= n; i += 16)
                {
                    Vector256<ushort> prev = Vector256.LoadUnsafe(ref sr, (nuint)i);
                    Vector256<ushort> cur = Vector256.LoadUnsafe(ref sr, (nuint)(i + 1)) * (ushort)3;
                    Vector256<ushort> next = Vector256.LoadUnsafe(ref sr, (nuint)(i + 2));
                    Vector256<ushort> even = (cur + prev + be) >> shift;
                    Vector256<ushort> odd = (cur + next + bo) >> shift;
                    // Unpacking and packing both work per 128-bit lane, which leaves the bytes in order.
                    Vector256<byte> bytes = Avx2.PackUnsignedSaturate(
                        Avx2.UnpackLow(even, odd).AsInt16(), Avx2.UnpackHigh(even, odd).AsInt16());
                    bytes.StoreUnsafe(ref or, (nuint)(2 * i));
                }
            }
            for (; i < n; i++)
            {
                int cur = s[i + 1] * 3;
                o[2 * i] = (byte)((cur + s[i] + biasEven) >> shift);
                o[2 * i + 1] = (byte)((cur + s[i + 2] + biasOdd) >> shift);
            }
        }
    }
}
