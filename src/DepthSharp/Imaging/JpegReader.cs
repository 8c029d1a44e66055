using System.Runtime.CompilerServices;

namespace DepthSharp.Imaging;

/// <summary>
/// Parses the marker structure of one JPEG file, drives the scans, and assembles the picture.
/// Every problem becomes an <see cref="ImageFormatException"/> naming the file.
/// </summary>
/// <remarks>
/// Policy on damage: libjpeg tolerates a lot with a warning (it pads truncated data with zeros and
/// decodes garbage as best it can). The fixtures require truncated and scrambled files to be
/// refused, so corrupt entropy-coded data and a file that ends before its EOI marker are errors
/// here. What libjpeg handles without losing data is still accepted: bytes after EOI are ignored,
/// stray bytes before a marker are skipped, and out-of-sequence restart markers are resynchronised
/// with libjpeg's rules.
/// <para>
/// The per-block and per-row methods of the decoder are marked AggressiveOptimization: a process
/// usually decodes only a few pictures, and tiered compilation would run the first one on
/// unoptimized code, several times slower.
/// </para>
/// </remarks>
internal sealed class JpegReader
{
    /// <summary>Bounds the work a small file can demand: each scan may revisit every block of a large frame.</summary>
    private const int MaxScans = 1000;

    private readonly string? _fileName;
    private readonly ImageDecodeOptions _options;
    private readonly bool _simd;
    private int _pos;

    private readonly int[]?[] _quant = new int[]?[4];
    private readonly JpegHuffmanTable?[] _dcHuffman = new JpegHuffmanTable?[4];
    private readonly JpegHuffmanTable?[] _acHuffman = new JpegHuffmanTable?[4];
    private int _restartInterval;
    private bool _sawJfif;
    private bool _sawAdobe;
    private int _adobeTransform;
    private byte[]? _exif;
    private int _scanCount;
    private JpegEntropyDecoder? _entropy;

    /// <param name="data">The whole JPEG file.</param>
    /// <param name="fileName">Named in errors; null for data without a file.</param>
    /// <param name="options">Size limits and orientation handling.</param>
    /// <param name="simd">Use the AVX2 paths where the CPU has them; false forces the scalar ones (for tests).</param>
    public JpegReader(byte[] data, string? fileName, ImageDecodeOptions options, bool simd = true)
    {
        Data = data;
        _fileName = fileName;
        _options = options;
        _simd = simd;
    }

    public byte[] Data { get; }

    public JpegFrame? Frame { get; private set; }

    /// <summary>Arithmetic conditioning (DAC) per table: DC lower and upper bounds, AC Kx; T.81 defaults.</summary>
    public byte[] ArithDcL { get; } = new byte[16];
    public byte[] ArithDcU { get; } = Enumerable.Repeat((byte)1, 16).ToArray();
    public byte[] ArithAcK { get; } = Enumerable.Repeat((byte)5, 16).ToArray();

    public JpegHuffmanTable? HuffmanDc(int id) => id < 4 ? _dcHuffman[id] : null;

    public JpegHuffmanTable? HuffmanAc(int id) => id < 4 ? _acHuffman[id] : null;

    public ImageFormatException Error(string problem) => new(_fileName, problem);

    public JpegImage Decode()
    {
        byte[] d = Data;
        if (d.Length == 0) throw Error("file is empty");
        if (d.Length < 2 || d[0] != 0xFF || d[1] != 0xD8) throw Error("not a JPEG file (no SOI marker at the start)");
        _pos = 2;
        while (true)
        {
            int marker = NextMarker();
            switch (marker)
            {
                case 0xC0:
                case 0xC1:
                    ReadFrame(progressive: false, arithmetic: false);
                    break;
                case 0xC2:
                    ReadFrame(progressive: true, arithmetic: false);
                    break;
                case 0xC9:
                    ReadFrame(progressive: false, arithmetic: true);
                    break;
                case 0xCA:
                    ReadFrame(progressive: true, arithmetic: true);
                    break;
                case 0xC3 or 0xC5 or 0xC6 or 0xC7 or 0xCB or 0xCD or 0xCE or 0xCF:
                    throw Error($"unsupported JPEG process (SOF{marker - 0xC0}: lossless or hierarchical)");
                case 0xC4:
                    ReadHuffmanTables();
                    break;
                case 0xCC:
                    ReadArithmeticConditioning();
                    break;
                case 0xDB:
                    ReadQuantTables();
                    break;
                case 0xDD:
                    ReadRestartInterval();
                    break;
                case 0xDA:
                    ReadScan();
                    break;
                case 0xD9:
                    return Finish();
                case 0xD8:
                    throw Error("second SOI marker");
                case (>= 0xD0 and <= 0xD7) or 0x01:
                    break; // stray RSTn or TEM: no payload, ignored as libjpeg does
                case >= 0xE0 and <= 0xEF:
                    ReadApplicationSegment(marker);
                    break;
                case 0xFE or 0xDC:
                    Segment(marker == 0xFE ? "COM" : "DNL"); // comment; DNL (heights of 0 are refused at SOF)
                    break;
                default:
                    throw Error($"unknown marker 0xFF{marker:X2}");
            }
        }
    }

    /// <summary>Finds the next marker from the current position, skipping fill and stray bytes.</summary>
    private int NextMarker()
    {
        if (!FindMarker(_pos, out _, out int code, out int next))
        {
            throw Error(Frame is null ? "file ends before any image data (no SOF/SOS)"
                : _scanCount == 0 ? "file ends before any scan (no SOS)"
                : "file ends before the EOI marker (truncated)");
        }
        _pos = next;
        return code;
    }

    /// <summary>
    /// Scans for a marker at or after <paramref name="from"/>: its first 0xFF, its code, and the
    /// position after the code. False at the end of the data.
    /// </summary>
    private bool FindMarker(int from, out int start, out int code, out int next)
    {
        byte[] d = Data;
        int p = from;
        while (true)
        {
            while (p < d.Length && d[p] != 0xFF) p++;
            start = p;
            while (p < d.Length && d[p] == 0xFF) p++;
            if (p >= d.Length)
            {
                code = next = 0;
                return false;
            }
            code = d[p++];
            if (code != 0)
            {
                next = p;
                return true;
            }
            // 0xFF 0x00 is stuffed data, not a marker: keep looking.
        }
    }

    /// <summary>Reads a marker segment's length: returns where its payload starts and how long it is, and moves past it.</summary>
    (int Start, int Length) Segment(string name)
    {
        if (_pos + 2 > Data.Length) throw Error($"file ends inside the {name} marker");
        int length = (Data[_pos] << 8) | Data[_pos + 1];
        if (length < 2) throw Error($"{name} segment has an invalid length ({length})");
        if (length > Data.Length - _pos) throw Error($"{name} segment runs past the end of the file");
        int start = _pos + 2;
        _pos += length;
        return (start, length - 2);
    }

    private void ReadApplicationSegment(int marker)
    {
        var (p, n) = Segment($"APP{marker - 0xE0}");
        ReadOnlySpan<byte> payload = Data.AsSpan(p, n);
        if (marker == 0xE0 && n >= 14 && payload.StartsWith("JFIF\0"u8))
        {
            _sawJfif = true;
        }
        else if (marker == 0xEE && n >= 12 && payload.StartsWith("Adobe"u8))
        {
            _sawAdobe = true;
            _adobeTransform = payload[11];
        }
        else if (marker == 0xE1 && _exif is null && payload.StartsWith("Exif\0\0"u8))
        {
            _exif = payload[6..].ToArray();
        }
    }

    private void ReadQuantTables()
    {
        var (p, n) = Segment("DQT");
        int end = p + n;
        ReadOnlySpan<byte> zigzag = JpegEntropyDecoder.Zigzag;
        while (p < end)
        {
            int precision = Data[p] >> 4, id = Data[p] & 15;
            p++;
            if (id > 3) throw Error($"DQT defines table {id}; only 0 to 3 exist");
            if (precision > 1) throw Error($"DQT table {id} has an invalid precision code {precision}");
            int size = precision == 0 ? 64 : 128;
            if (size > end - p) throw Error("DQT segment is shorter than its tables");
            var q = new int[64];
            for (int k = 0; k < 64; k++)
            {
                int v = precision == 0 ? Data[p + k] : (Data[p + 2 * k] << 8) | Data[p + 2 * k + 1];
                q[zigzag[k]] = v;
            }
            _quant[id] = q;
            p += size;
        }
    }

    private void ReadHuffmanTables()
    {
        var (p, n) = Segment("DHT");
        int end = p + n;
        while (p < end)
        {
            if (end - p < 17) throw Error("DHT segment is shorter than its tables");
            int tableClass = Data[p] >> 4, id = Data[p] & 15;
            if (tableClass > 1 || id > 3) throw Error($"DHT defines an invalid table (class {tableClass}, id {id})");
            ReadOnlySpan<byte> counts = Data.AsSpan(p + 1, 16);
            int total = 0;
            foreach (byte c in counts) total += c;
            if (total > 256) throw Error($"DHT table {id} declares {total} codes; at most 256 are possible");
            if (total > end - p - 17) throw Error("DHT segment is shorter than its tables");
            bool isDc = tableClass == 0;
            JpegHuffmanTable table = JpegHuffmanTable.Create(counts, Data.AsSpan(p + 17, total), isDc)
                ?? throw Error($"DHT {(isDc ? "DC" : "AC")} table {id} is not a valid Huffman code table");
            (isDc ? _dcHuffman : _acHuffman)[id] = table;
            p += 17 + total;
        }
    }

    private void ReadArithmeticConditioning()
    {
        var (p, n) = Segment("DAC");
        if (n % 2 != 0) throw Error("DAC segment has an odd length");
        for (int end = p + n; p < end; p += 2)
        {
            int index = Data[p], value = Data[p + 1];
            if (index >= 32) throw Error($"DAC names an invalid table ({index})");
            if (index >= 16)
            {
                ArithAcK[index - 16] = (byte)value;
            }
            else
            {
                int lower = value & 15, upper = value >> 4;
                if (lower > upper) throw Error($"DAC DC conditioning bounds are inverted (L={lower}, U={upper})");
                ArithDcL[index] = (byte)lower;
                ArithDcU[index] = (byte)upper;
            }
        }
    }

    private void ReadRestartInterval()
    {
        var (p, n) = Segment("DRI");
        if (n != 2) throw Error("DRI segment has the wrong length");
        _restartInterval = (Data[p] << 8) | Data[p + 1];
    }

    private void ReadFrame(bool progressive, bool arithmetic)
    {
        if (Frame is not null) throw Error("second SOF marker (only single-frame files are supported)");
        var (p, n) = Segment("SOF");
        if (n < 6) throw Error("SOF segment is too short");
        byte[] d = Data;
        int precision = d[p];
        int height = (d[p + 1] << 8) | d[p + 2];
        int width = (d[p + 3] << 8) | d[p + 4];
        int count = d[p + 5];
        if (precision != 8)
            throw Error(precision == 12 ? "12-bit JPEG is not supported (only 8-bit samples)" : $"unsupported sample precision ({precision} bits)");
        if (width == 0 || height == 0)
            throw Error($"image has zero size ({width}x{height}; a height defined later by DNL is not supported)");
        if (count is not (1 or 3 or 4))
            throw Error($"unsupported number of colour components ({count}); only 1, 3 and 4 are supported");
        if (n != 6 + 3 * count) throw Error("SOF segment length does not match its component count");
        // Checked before anything of this size is allocated.
        if ((long)width * height > _options.MaxPixels)
            throw Error($"image is {width}x{height} pixels, more than the limit of {_options.MaxPixels}");
        if ((long)width * height * 3 > Array.MaxLength)
            throw Error($"image is {width}x{height} pixels, too large for one RGB buffer");

        var ids = new int[count];
        var hs = new int[count];
        var vs = new int[count];
        var qs = new int[count];
        int maxH = 1, maxV = 1;
        for (int i = 0; i < count; i++)
        {
            int q = p + 6 + 3 * i;
            ids[i] = d[q];
            hs[i] = d[q + 1] >> 4;
            vs[i] = d[q + 1] & 15;
            qs[i] = d[q + 2];
            if (hs[i] is < 1 or > 4 || vs[i] is < 1 or > 4)
                throw Error($"component {ids[i]} has invalid sampling factors {hs[i]}x{vs[i]} (1 to 4 allowed)");
            if (qs[i] > 3) throw Error($"component {ids[i]} uses quantization table {qs[i]}; only 0 to 3 exist");
            maxH = Math.Max(maxH, hs[i]);
            maxV = Math.Max(maxV, vs[i]);
        }
        for (int i = 0; i < count; i++)
        {
            // libjpeg upsamples by integral ratios only.
            if (maxH % hs[i] != 0 || maxV % vs[i] != 0)
                throw Error($"component {ids[i]} has sampling factors {hs[i]}x{vs[i]} that do not divide {maxH}x{maxV}");
        }
        int mcusX = (width + 8 * maxH - 1) / (8 * maxH);
        int mcusY = (height + 8 * maxV - 1) / (8 * maxV);
        var comps = new JpegComponent[count];
        for (int i = 0; i < count; i++)
            comps[i] = new JpegComponent(ids[i], hs[i], vs[i], qs[i], width, height, maxH, maxV, mcusX, mcusY);
        Frame = new JpegFrame
        {
            Width = width,
            Height = height,
            Progressive = progressive,
            Arithmetic = arithmetic,
            Components = comps,
            MaxH = maxH,
            MaxV = maxV,
        };
    }

    private void ReadScan()
    {
        JpegFrame frame = Frame ?? throw Error("SOS marker before the SOF frame header");
        var (p, n) = Segment("SOS");
        byte[] d = Data;
        int count = n >= 1 ? d[p] : 0;
        if (count is < 1 or > 4 || n != 4 + 2 * count) throw Error("SOS segment has a bad length or component count");
        if (++_scanCount > MaxScans) throw Error($"more than {MaxScans} scans");

        var comps = new JpegComponent[count];
        var dcTables = new int[count];
        var acTables = new int[count];
        for (int i = 0; i < count; i++)
        {
            int id = d[p + 1 + 2 * i], tables = d[p + 2 + 2 * i];
            // As libjpeg: the first frame component with this id that the scan does not already use.
            JpegComponent? match = null;
            foreach (JpegComponent c in frame.Components)
            {
                if (c.Id == id && Array.IndexOf(comps, c, 0, i) < 0)
                {
                    match = c;
                    break;
                }
            }
            comps[i] = match ?? throw Error($"scan refers to component {id}, which the frame does not have (or names it twice)");
            dcTables[i] = tables >> 4;
            acTables[i] = tables & 15;
        }
        int q = p + 1 + 2 * count;
        var scan = new JpegScan
        {
            Components = comps,
            DcTables = dcTables,
            AcTables = acTables,
            Ss = d[q],
            Se = d[q + 1],
            Ah = d[q + 2] >> 4,
            Al = d[q + 2] & 15,
        };

        if (count > 1)
        {
            int blocks = 0;
            foreach (JpegComponent c in comps) blocks += c.H * c.V;
            if (blocks > 10) throw Error($"interleaved scan has {blocks} blocks per MCU; at most 10 are allowed");
        }
        if (frame.Progressive) CheckProgression(scan);
        if (!frame.Arithmetic) CheckHuffmanTables(scan, frame.Progressive);
        foreach (JpegComponent c in comps)
        {
            // Quantization tables are latched at a component's first scan, as libjpeg does.
            c.LatchQuant(_quant[c.QuantTableId] ?? throw Error($"quantization table {c.QuantTableId} is used before it is defined"));
            c.Coded = true;
        }
        DecodeScanData(scan, frame);
    }

    private void CheckProgression(JpegScan s)
    {
        bool bad = s.Ss == 0 ? s.Se != 0 : s.Se < s.Ss || s.Se > 63 || s.Components.Length != 1;
        if (s.Ah != 0 && s.Al != s.Ah - 1) bad = true;
        if (s.Al > 13) bad = true;
        if (bad) throw Error($"invalid progressive scan parameters (Ss={s.Ss}, Se={s.Se}, Ah={s.Ah}, Al={s.Al})");
        // An AC scan before the DC scan, or a refinement that does not continue the previous
        // scan, only draws a warning from libjpeg, which decodes the scan as told; so does this
        // decoder (the data stays in bounds either way). The bits are tracked for smoothing.
        foreach (JpegComponent c in s.Components)
            for (int k = s.Ss; k <= s.Se; k++)
                c.CoefBits[k] = s.Al;
    }

    private void CheckHuffmanTables(JpegScan s, bool progressive)
    {
        bool needDc = !progressive || (s.Ss == 0 && s.Ah == 0);
        bool needAc = !progressive || s.Ss != 0;
        for (int i = 0; i < s.Components.Length; i++)
        {
            if (needDc && HuffmanDc(s.DcTables[i]) is null)
                throw Error($"scan uses Huffman DC table {s.DcTables[i]}, which is not defined");
            if (needAc && HuffmanAc(s.AcTables[i]) is null)
                throw Error($"scan uses Huffman AC table {s.AcTables[i]}, which is not defined");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DecodeScanData(JpegScan scan, JpegFrame frame)
    {
        JpegEntropyDecoder dec = _entropy ??= frame.Arithmetic ? new JpegArithmeticDecoder(this) : new JpegHuffmanDecoder(this);
        dec.StartScan(scan, _pos);
        int interval = _restartInterval;
        int untilRestart = interval;
        int nextRestart = 0;
        Span<short> block = stackalloc short[64];
        JpegComponent[] comps = scan.Components;

        if (comps.Length == 1)
        {
            // Non-interleaved: one block per MCU, over the blocks that hold picture samples.
            JpegComponent c = comps[0];
            for (int by = 0; by < c.BlocksHigh; by++)
            {
                for (int bx = 0; bx < c.BlocksWide; bx++)
                {
                    if (interval > 0)
                    {
                        if (untilRestart == 0)
                        {
                            Restart(dec, ref nextRestart);
                            untilRestart = interval;
                        }
                        untilRestart--;
                    }
                    DecodeBlock(dec, scan, frame, 0, c, bx, by, block, _simd);
                    dec.CheckMcu();
                }
            }
        }
        else
        {
            int mcusX = frame.McusX, mcusY = frame.McusY;
            for (int my = 0; my < mcusY; my++)
            {
                for (int mx = 0; mx < mcusX; mx++)
                {
                    if (interval > 0)
                    {
                        if (untilRestart == 0)
                        {
                            Restart(dec, ref nextRestart);
                            untilRestart = interval;
                        }
                        untilRestart--;
                    }
                    for (int ci = 0; ci < comps.Length; ci++)
                    {
                        JpegComponent c = comps[ci];
                        for (int v = 0; v < c.V; v++)
                            for (int h = 0; h < c.H; h++)
                                DecodeBlock(dec, scan, frame, ci, c, mx * c.H + h, my * c.V + v, block, _simd);
                    }
                    dec.CheckMcu();
                }
            }
        }
        _pos = dec.EndSegment();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeBlock(JpegEntropyDecoder dec, JpegScan scan, JpegFrame frame, int ci, JpegComponent c, int bx, int by, Span<short> block, bool simd)
    {
        if (frame.Progressive)
        {
            Span<short> coefs = c.CoefBlockRow(by).AsSpan(bx * 64, 64);
            if (scan.Ss == 0)
            {
                if (scan.Ah == 0) dec.DecodeDcFirst(ci, coefs);
                else dec.DecodeDcRefine(coefs);
            }
            else if (scan.Ah == 0)
            {
                dec.DecodeAcFirst(coefs);
            }
            else
            {
                dec.DecodeAcRefine(coefs);
            }
            return;
        }

        block.Clear();
        int last = dec.DecodeBlock(ci, block);
        // Blocks of an interleaved MCU that lie wholly outside the picture are decoded, not kept.
        if (bx >= c.BlocksWide || by >= c.BlocksHigh) return;
        Span<byte> dst = c.SampleBlockRow(by).AsSpan(bx * 8);
        int[] quant = c.IdctQuant!;
        if (last == 0)
            JpegIdct.Fill(JpegIdct.DcOnlyValue(block[0] * quant[0]), dst, c.Stride);
        else
            JpegIdct.Transform(block, quant, dst, c.Stride, simd);
    }

    /// <summary>
    /// Ends a restart interval: finds the RSTn marker that should follow, resynchronising as
    /// libjpeg's jpeg_resync_to_restart does when the one found is not the one expected.
    /// </summary>
    private void Restart(JpegEntropyDecoder dec, ref int nextRestart)
    {
        int expected = nextRestart;
        nextRestart = (nextRestart + 1) & 7;
        int from = dec.EndSegment();
        while (true)
        {
            if (!FindMarker(from, out int start, out int code, out int next))
            {
                // No marker left: the decoder will run off the end and report the truncation.
                dec.Restart(Data.Length);
                return;
            }
            int action;
            if (code < 0xC0)
            {
                action = 2; // not a valid marker: look further
            }
            else if (code is < 0xD0 or > 0xD7)
            {
                action = 3; // another kind of marker: the scan's data is missing
            }
            else
            {
                int found = code - 0xD0;
                if (found == ((expected + 1) & 7) || found == ((expected + 2) & 7))
                    action = 3; // a later restart: this interval's data is missing
                else if (found == ((expected - 1) & 7) || found == ((expected - 2) & 7))
                    action = 2; // an earlier restart: skip ahead
                else
                    action = 1; // the expected one, or too far off to judge: take it
            }
            switch (action)
            {
                case 1:
                    dec.Restart(next);
                    return;
                case 2:
                    from = next;
                    break;
                default:
                    // Leave the marker unread; the next interval then has no data, which the
                    // Huffman decoder refuses and the arithmetic decoder reads as zeros (as libjpeg).
                    dec.Restart(start);
                    return;
            }
        }
    }

    private JpegImage Finish()
    {
        JpegFrame frame = Frame ?? throw Error("EOI marker before any frame header");
        if (_scanCount == 0) throw Error("EOI marker before any scan");
        foreach (JpegComponent c in frame.Components)
            if (!c.Coded) throw Error($"component {c.Id} has no image data");
        if (frame.Progressive)
        {
            bool smooth = JpegBlockSmoothing.IsUseful(frame);
            foreach (JpegComponent c in frame.Components)
            {
                if (smooth) JpegBlockSmoothing.Render(c, frame.McusY, _simd);
                else RenderCoefficients(c);
            }
        }
        foreach (JpegComponent c in frame.Components)
            if (!c.HasAllSamples()) throw Error($"component {c.Id} is missing image data");
        RgbImage image = JpegColorConverter.Convert(frame, ColorSpace(frame), _simd);
        return new JpegImage(image, frame.Components.Length, _exif);
    }

    /// <summary>Progressive mode: the inverse DCT of every stored block, once all scans are in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RenderCoefficients(JpegComponent c)
    {
        int[] quant = c.IdctQuant!;
        for (int by = 0; by < c.BlocksHigh; by++)
        {
            short[] coefs = c.StoredCoefBlockRow(by) ?? throw Error($"component {c.Id} is missing image data");
            byte[] samples = c.SampleBlockRow(by);
            for (int bx = 0; bx < c.BlocksWide; bx++)
                JpegIdct.Transform(coefs.AsSpan(bx * 64, 64), quant, samples.AsSpan(bx * 8), c.Stride, _simd);
            c.ReleaseCoefBlockRow(by);
        }
    }

    /// <summary>libjpeg's guess of the colour space (jdapimin.c default_decompress_parms).</summary>
    private JpegColorSpace ColorSpace(JpegFrame frame)
    {
        JpegComponent[] c = frame.Components;
        switch (c.Length)
        {
            case 1:
                return JpegColorSpace.Gray;
            case 3:
                if (_sawJfif) return JpegColorSpace.YCbCr;
                if (_sawAdobe) return _adobeTransform == 0 ? JpegColorSpace.Rgb : JpegColorSpace.YCbCr;
                return c[0].Id == 'R' && c[1].Id == 'G' && c[2].Id == 'B' ? JpegColorSpace.Rgb : JpegColorSpace.YCbCr;
            default:
                if (_sawAdobe && _adobeTransform != 0) return JpegColorSpace.Ycck;
                return JpegColorSpace.Cmyk;
        }
    }
}
