using System.Runtime.CompilerServices;

namespace DepthSharp.Imaging;

/// <summary>
/// Arithmetic entropy decoding (T.81 annex D, F.2.4 and G.1.3), with libjpeg's register layout so
/// that statistics evolve exactly as in jdarith.c.
/// </summary>
/// <remarks>
/// Reading past a marker is legal here (the encoder drops trailing zero bytes), so the segment is
/// padded with zeros as the standard says. Running off the end of the file, or a magnitude or
/// spectral overflow (which libjpeg reports as a warning and then skips the rest of the
/// segment), is refused.
/// </remarks>
internal sealed class JpegArithmeticDecoder : JpegEntropyDecoder
{
    /// <summary>T.81 table D.2: Qe, next state after LPS and MPS, and the MPS switch flag.</summary>
    private static readonly (ushort Qe, byte NextLps, byte NextMps, bool Switch)[] States =
    [
        (0x5a1d, 1, 1, true), (0x2586, 14, 2, false), (0x1114, 16, 3, false), (0x080b, 18, 4, false),
        (0x03d8, 20, 5, false), (0x01da, 23, 6, false), (0x00e5, 25, 7, false), (0x006f, 28, 8, false),
        (0x0036, 30, 9, false), (0x001a, 33, 10, false), (0x000d, 35, 11, false), (0x0006, 9, 12, false),
        (0x0003, 10, 13, false), (0x0001, 12, 13, false), (0x5a7f, 15, 15, true), (0x3f25, 36, 16, false),
        (0x2cf2, 38, 17, false), (0x207c, 39, 18, false), (0x17b9, 40, 19, false), (0x1182, 42, 20, false),
        (0x0cef, 43, 21, false), (0x09a1, 45, 22, false), (0x072f, 46, 23, false), (0x055c, 48, 24, false),
        (0x0406, 49, 25, false), (0x0303, 51, 26, false), (0x0240, 52, 27, false), (0x01b1, 54, 28, false),
        (0x0144, 56, 29, false), (0x00f5, 57, 30, false), (0x00b7, 59, 31, false), (0x008a, 60, 32, false),
        (0x0068, 62, 33, false), (0x004e, 63, 34, false), (0x003b, 32, 35, false), (0x002c, 33, 9, false),
        (0x5ae1, 37, 37, true), (0x484c, 64, 38, false), (0x3a0d, 65, 39, false), (0x2ef1, 67, 40, false),
        (0x261f, 68, 41, false), (0x1f33, 69, 42, false), (0x19a8, 70, 43, false), (0x1518, 72, 44, false),
        (0x1177, 73, 45, false), (0x0e74, 74, 46, false), (0x0bfb, 75, 47, false), (0x09f8, 77, 48, false),
        (0x0861, 78, 49, false), (0x0706, 79, 50, false), (0x05cd, 48, 51, false), (0x04de, 50, 52, false),
        (0x040f, 50, 53, false), (0x0363, 51, 54, false), (0x02d4, 52, 55, false), (0x025c, 53, 56, false),
        (0x01f8, 54, 57, false), (0x01a4, 55, 58, false), (0x0160, 56, 59, false), (0x0125, 57, 60, false),
        (0x00f6, 58, 61, false), (0x00cb, 59, 62, false), (0x00ab, 61, 63, false), (0x008f, 61, 32, false),
        (0x5b12, 65, 65, true), (0x4d04, 80, 66, false), (0x412c, 81, 67, false), (0x37d8, 82, 68, false),
        (0x2fe8, 83, 69, false), (0x293c, 84, 70, false), (0x2379, 86, 71, false), (0x1edf, 87, 72, false),
        (0x1aa9, 87, 73, false), (0x174e, 72, 74, false), (0x1424, 72, 75, false), (0x119c, 74, 76, false),
        (0x0f6b, 74, 77, false), (0x0d51, 75, 78, false), (0x0bb6, 77, 79, false), (0x0a40, 77, 48, false),
        (0x5832, 80, 81, true), (0x4d1c, 88, 82, false), (0x438e, 89, 83, false), (0x3bdd, 90, 84, false),
        (0x34ee, 91, 85, false), (0x2eae, 92, 86, false), (0x299a, 93, 87, false), (0x2516, 86, 71, false),
        (0x5570, 88, 89, true), (0x4ca9, 95, 90, false), (0x44d9, 96, 91, false), (0x3e22, 97, 92, false),
        (0x3824, 99, 93, false), (0x32b4, 99, 94, false), (0x2e17, 93, 86, false), (0x56a8, 95, 96, true),
        (0x4f46, 101, 97, false), (0x47e5, 102, 98, false), (0x41cf, 103, 99, false), (0x3c3d, 104, 100, false),
        (0x375e, 99, 93, false), (0x5231, 105, 102, false), (0x4c0f, 106, 103, false), (0x4639, 107, 104, false),
        (0x415e, 103, 99, false), (0x5627, 105, 106, true), (0x50e7, 108, 107, false), (0x4b85, 109, 103, false),
        (0x5597, 110, 109, false), (0x504f, 111, 107, false), (0x5a10, 110, 111, true), (0x5522, 112, 109, false),
        (0x59eb, 112, 111, true),
        // Fixed probability of one half, for sign and refinement bits (T.851 table 5), as libjpeg.
        (0x5a1d, 113, 113, false),
    ];

    private const int FixedState = 113;
    private const int DcStatBins = 64;
    private const int AcStatBins = 256;

    private readonly byte[] _data;
    private int _pos;
    private bool _atMarker;
    private bool _ranOffEnd;

    // libjpeg's registers: C holds the code base and the not-yet-used input bits, CT counts those bits.
    private long _c;
    private long _a;
    private int _ct;

    // Each statistics bin: bit 7 = the MPS, bits 0..6 = the state index.
    private readonly byte[][] _dcStats = new byte[16][];
    private readonly byte[][] _acStats = new byte[16][];
    private readonly byte[] _fixedBin = new byte[1];

    private readonly int[] _dcTable = new int[4];
    private readonly int[] _acTable = new int[4];
    private readonly int[] _lastDc = new int[4];
    private readonly int[] _dcContext = new int[4];
    private int _components;
    private bool _resetsDc, _resetsAc;
    private int _ss, _se, _al;

    public JpegArithmeticDecoder(JpegReader reader) : base(reader)
    {
        _data = reader.Data;
        for (int i = 0; i < 16; i++)
        {
            _dcStats[i] = new byte[DcStatBins];
            _acStats[i] = new byte[AcStatBins];
        }
    }

    public override void StartScan(JpegScan scan, int position)
    {
        _components = scan.Components.Length;
        for (int i = 0; i < _components; i++)
        {
            _dcTable[i] = scan.DcTables[i];
            _acTable[i] = scan.AcTables[i];
        }
        bool progressive = Reader.Frame!.Progressive;
        // Which statistics a scan uses, and so resets at its start and at each restart.
        _resetsDc = !progressive || (scan.Ss == 0 && scan.Ah == 0);
        _resetsAc = !progressive || scan.Ss != 0;
        _ss = scan.Ss;
        _se = scan.Se;
        _al = scan.Al;
        Restart(position);
    }

    public override void Restart(int position)
    {
        for (int i = 0; i < _components; i++)
        {
            if (_resetsDc)
            {
                Array.Clear(_dcStats[_dcTable[i]]);
                _lastDc[i] = 0;
                _dcContext[i] = 0;
            }
            if (_resetsAc) Array.Clear(_acStats[_acTable[i]]);
        }
        _fixedBin[0] = FixedState;
        _pos = position;
        _atMarker = false;
        _c = 0;
        _a = 0;
        _ct = -16; // forces two bytes into C before the first decision
    }

    public override int EndSegment() => _pos;

    public override void CheckMcu()
    {
        if (_ranOffEnd) throw Reader.Error("entropy-coded data is truncated (file ends inside a scan)");
    }

    private Exception Corrupt() => Reader.Error("corrupt arithmetic-coded data");

    private int NextByte()
    {
        if (_atMarker) return 0;
        if (_pos >= _data.Length)
        {
            _atMarker = true;
            _ranOffEnd = true;
            return 0;
        }
        int b = _data[_pos];
        if (b != 0xFF)
        {
            _pos++;
            return b;
        }
        int q = _pos + 1;
        while (q < _data.Length && _data[q] == 0xFF) q++;
        if (q < _data.Length && _data[q] == 0)
        {
            _pos = q + 1;
            return 0xFF;
        }
        // A marker: the rest of the segment reads as zeros and the marker stays unread.
        _atMarker = true;
        return 0;
    }

    /// <summary>Decodes one binary decision with the statistics bin stats[index] (T.81 D.2.4 to D.2.6).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Decode(byte[] stats, int index)
    {
        while (_a < 0x8000)
        {
            if (--_ct < 0)
            {
                _c = (_c << 8) | (long)NextByte();
                if ((_ct += 8) < 0 && ++_ct == 0)
                    _a = 0x8000; // the two initial bytes are in: A becomes 0x10000 below
            }
            _a <<= 1;
        }

        int sv = stats[index];
        var state = States[sv & 0x7F];
        long qe = state.Qe;
        long temp = _a - qe;
        _a = temp;
        temp <<= _ct;
        if (_c >= temp)
        {
            _c -= temp;
            // LPS path, with the conditional exchange when the LPS interval is the larger one.
            if (_a < qe)
            {
                _a = qe;
                stats[index] = (byte)((sv & 0x80) ^ state.NextMps);
            }
            else
            {
                _a = qe;
                stats[index] = (byte)((sv & 0x80) ^ NextLpsByte(state));
                sv ^= 0x80;
            }
        }
        else if (_a < 0x8000)
        {
            // MPS path needing renormalisation, with the conditional exchange.
            if (_a < qe)
            {
                stats[index] = (byte)((sv & 0x80) ^ NextLpsByte(state));
                sv ^= 0x80;
            }
            else
            {
                stats[index] = (byte)((sv & 0x80) ^ state.NextMps);
            }
        }
        return sv >> 7;
    }

    private static int NextLpsByte((ushort Qe, byte NextLps, byte NextMps, bool Switch) state) =>
        state.NextLps | (state.Switch ? 0x80 : 0);

    /// <summary>
    /// Decodes a DC difference (F.1.4.4.1, figures F.19 to F.24) and updates the conditioning
    /// category; returns the difference.
    /// </summary>
    private int DecodeDcDiff(int ci)
    {
        int tbl = _dcTable[ci];
        byte[] st = _dcStats[tbl];
        int s = _dcContext[ci];
        if (Decode(st, s) == 0)
        {
            _dcContext[ci] = 0;
            return 0;
        }
        int sign = Decode(st, s + 1);
        s += 2 + sign;
        int m = Decode(st, s);
        if (m != 0)
        {
            s = 20;
            while (Decode(st, s) != 0)
            {
                if ((m <<= 1) == 0x8000) throw Corrupt();
                s++;
            }
        }
        int half = 1 << Reader.ArithDcL[tbl] >> 1;
        if (m < half)
            _dcContext[ci] = 0;
        else if (m > (1 << Reader.ArithDcU[tbl] >> 1))
            _dcContext[ci] = 12 + sign * 4;
        else
            _dcContext[ci] = 4 + sign * 4;
        int v = m;
        s += 14;
        while ((m >>= 1) != 0)
            if (Decode(st, s) != 0) v |= m;
        v += 1;
        return sign != 0 ? -v : v;
    }

    /// <summary>Decodes the value of a nonzero AC coefficient at zigzag position k, statistics at st[s].</summary>
    private int DecodeAcValue(byte[] st, int s, int k, int tbl)
    {
        int sign = Decode(_fixedBin, 0);
        s += 2;
        int m = Decode(st, s);
        if (m != 0 && Decode(st, s) != 0)
        {
            m <<= 1;
            s = k <= Reader.ArithAcK[tbl] ? 189 : 217;
            while (Decode(st, s) != 0)
            {
                if ((m <<= 1) == 0x8000) throw Corrupt();
                s++;
            }
        }
        int v = m;
        s += 14;
        while ((m >>= 1) != 0)
            if (Decode(st, s) != 0) v |= m;
        v += 1;
        return sign != 0 ? -v : v;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override int DecodeBlock(int scanComponent, Span<short> block)
    {
        _lastDc[scanComponent] = (_lastDc[scanComponent] + DecodeDcDiff(scanComponent)) & 0xFFFF;
        block[0] = (short)_lastDc[scanComponent];

        int tbl = _acTable[scanComponent];
        byte[] st = _acStats[tbl];
        ReadOnlySpan<byte> zigzag = Zigzag;
        int last = 0;
        for (int k = 1; k <= 63; k++)
        {
            int s = 3 * (k - 1);
            if (Decode(st, s) != 0) break; // end of block
            while (Decode(st, s + 1) == 0)
            {
                s += 3;
                if (++k > 63) throw Corrupt();
            }
            block[zigzag[k]] = (short)DecodeAcValue(st, s, k, tbl);
            last = k;
        }
        return last;
    }

    public override void DecodeDcFirst(int scanComponent, Span<short> block)
    {
        _lastDc[scanComponent] = (_lastDc[scanComponent] + DecodeDcDiff(scanComponent)) & 0xFFFF;
        block[0] = (short)(_lastDc[scanComponent] << _al);
    }

    public override void DecodeDcRefine(Span<short> block)
    {
        if (Decode(_fixedBin, 0) != 0) block[0] |= (short)(1 << _al);
    }

    public override void DecodeAcFirst(Span<short> block)
    {
        int tbl = _acTable[0];
        byte[] st = _acStats[tbl];
        ReadOnlySpan<byte> zigzag = Zigzag;
        for (int k = _ss; k <= _se; k++)
        {
            int s = 3 * (k - 1);
            if (Decode(st, s) != 0) break; // end of band
            while (Decode(st, s + 1) == 0)
            {
                s += 3;
                if (++k > _se) throw Corrupt();
            }
            block[zigzag[k]] = (short)(DecodeAcValue(st, s, k, tbl) << _al);
        }
    }

    public override void DecodeAcRefine(Span<short> block)
    {
        byte[] st = _acStats[_acTable[0]];
        ReadOnlySpan<byte> zigzag = Zigzag;
        int p1 = 1 << _al;
        int m1 = -1 << _al;

        // The previous stages' end of band: beyond it an end-of-band decision is coded.
        int kex = _se;
        while (kex > 0 && block[zigzag[kex]] == 0) kex--;

        for (int k = _ss; k <= _se; k++)
        {
            int s = 3 * (k - 1);
            if (k > kex && Decode(st, s) != 0) break;
            while (true)
            {
                ref short coef = ref block[zigzag[k]];
                if (coef != 0)
                {
                    if (Decode(st, s + 2) != 0) coef += (short)(coef < 0 ? m1 : p1);
                    break;
                }
                if (Decode(st, s + 1) != 0)
                {
                    coef = (short)(Decode(_fixedBin, 0) != 0 ? m1 : p1);
                    break;
                }
                s += 3;
                if (++k > _se) throw Corrupt();
            }
        }
    }
}
