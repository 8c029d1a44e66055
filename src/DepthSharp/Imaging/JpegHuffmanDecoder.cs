using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DepthSharp.Imaging;

/// <summary>
/// Huffman entropy decoding (T.81 F.2.2 and G.1.2): a 64-bit bit buffer refilled a byte at a time,
/// 9-bit lookahead tables, and the sequential and progressive block procedures.
/// </summary>
/// <remarks>
/// Where libjpeg warns and carries on ("corrupt JPEG data"), this decoder refuses the file: a code
/// that matches no symbol, a coefficient placed past the end of its band, or an MCU that needs
/// more bits than its segment holds (libjpeg pads with zeros; the fixtures require truncated and
/// scrambled files to fail).
/// </remarks>
internal sealed class JpegHuffmanDecoder : JpegEntropyDecoder
{
    private readonly byte[] _data;

    // Bit buffer: the next bits of the segment, most significant first. Once a marker or the end
    // of the data is reached, zero bytes are appended and counted in _padding.
    private ulong _buf;
    private int _bits;
    private int _padding;
    private bool _atMarker;
    private int _pos;

    private readonly JpegHuffmanTable?[] _dc = new JpegHuffmanTable?[4];
    private readonly JpegHuffmanTable?[] _ac = new JpegHuffmanTable?[4];
    private readonly int[] _dcPred = new int[4];
    private int _ss, _se, _al;
    private int _eobRun;

    public JpegHuffmanDecoder(JpegReader reader) : base(reader) => _data = reader.Data;

    public override void StartScan(JpegScan scan, int position)
    {
        for (int i = 0; i < scan.Components.Length; i++)
        {
            _dc[i] = Reader.HuffmanDc(scan.DcTables[i]);
            _ac[i] = Reader.HuffmanAc(scan.AcTables[i]);
        }
        _ss = scan.Ss;
        _se = scan.Se;
        _al = scan.Al;
        Restart(position);
    }

    public override void Restart(int position)
    {
        _pos = position;
        _buf = 0;
        _bits = 0;
        _padding = 0;
        _atMarker = false;
        Array.Clear(_dcPred);
        _eobRun = 0;
    }

    public override int EndSegment() => _pos;

    public override void CheckMcu()
    {
        if (_padding > _bits)
            throw Reader.Error(_pos >= _data.Length
                ? "entropy-coded data is truncated (file ends inside a scan)"
                : "entropy-coded data ends before the scan is complete");
    }

    /// <summary>Tops the buffer up to at least 57 bits, appending zero bytes past the segment's end.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private (ulong Buf, int Bits) Refill(ulong buf, int bits)
    {
        byte[] data = _data;
        int pos = _pos;
        if (!_atMarker && pos <= data.Length - 8)
        {
            // Fast path: when the next eight bytes hold no 0xFF (so no stuffing and no marker),
            // take as many whole bytes as fit.
            ulong word = BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(pos, 8));
            ulong inverted = ~word;
            if (((inverted - 0x0101010101010101UL) & ~inverted & 0x8080808080808080UL) == 0)
            {
                int take = (64 - bits) >> 3;
                buf |= (word >> (64 - 8 * take)) << (64 - bits - 8 * take);
                _pos = pos + take;
                return (buf, bits + 8 * take);
            }
        }
        while (bits <= 56)
        {
            uint b = 0;
            if (_atMarker)
            {
                _padding += 8;
            }
            else if (_pos >= data.Length)
            {
                _atMarker = true;
                _padding += 8;
            }
            else
            {
                b = data[_pos];
                if (b != 0xFF)
                {
                    _pos++;
                }
                else
                {
                    // 0xFF 0x00 is a stuffed 0xFF (extra 0xFF fill bytes may precede the 0x00);
                    // anything else is a marker, which ends the segment and stays unread.
                    int q = _pos + 1;
                    while (q < data.Length && data[q] == 0xFF) q++;
                    if (q < data.Length && data[q] == 0)
                    {
                        _pos = q + 1;
                    }
                    else
                    {
                        _atMarker = true;
                        _padding += 8;
                        b = 0;
                    }
                }
            }
            buf |= (ulong)b << (56 - bits);
            bits += 8;
        }
        return (buf, bits);
    }

    private Exception BadCode() => Reader.Error("corrupt entropy-coded data: Huffman code matches no symbol");

    private Exception Overrun() => Reader.Error("corrupt entropy-coded data: coefficient index past the end of the block");

    /// <summary>The value of a <paramref name="size"/>-bit magnitude field (T.81 F.2.2.1 EXTEND).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Extend(int raw, int size) => raw < 1 << (size - 1) ? raw - (1 << size) + 1 : raw;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override int DecodeBlock(int scanComponent, Span<short> block)
    {
        JpegHuffmanTable dcTable = _dc[scanComponent]!;
        JpegHuffmanTable acTable = _ac[scanComponent]!;
        ref int lookDc = ref MemoryMarshal.GetArrayDataReference(dcTable.Lookup);
        ref int lookAc = ref MemoryMarshal.GetArrayDataReference(acTable.Lookup);
        ref int fastAc = ref MemoryMarshal.GetArrayDataReference(acTable.FastAc);
        ref byte zigzag = ref MemoryMarshal.GetReference(Zigzag);
        // Every write below is at Zigzag[k] with k checked to be at most 63.
        ref short coef = ref MemoryMarshal.GetReference(block[..64]);

        ulong buf = _buf;
        int bits = _bits;
        if (bits < 32) (buf, bits) = Refill(buf, bits);

        // DC: a magnitude category (at most 15) and that many bits of difference.
        int e = Unsafe.Add(ref lookDc, (int)(buf >> (64 - JpegHuffmanTable.LookaheadBits)));
        if (e == 0 && (e = dcTable.DecodeLong(buf)) < 0) throw BadCode();
        int len = e >> 8;
        buf <<= len;
        bits -= len;
        int s = e & 0xFF;
        if (s != 0)
        {
            int diff = Extend((int)(buf >> (64 - s)), s);
            buf <<= s;
            bits -= s;
            _dcPred[scanComponent] += diff;
        }
        coef = (short)_dcPred[scanComponent];

        // AC: run/size symbols; a whole coefficient comes from one lookup when it fits in 9 bits.
        int last = 0;
        int k = 1;
        while (k < 64)
        {
            if (bits < 32) (buf, bits) = Refill(buf, bits);
            int look = (int)(buf >> (64 - JpegHuffmanTable.LookaheadBits));
            int f = Unsafe.Add(ref fastAc, look);
            if (f != 0)
            {
                k += (f >> 8) & 15;
                if (k > 63) throw Overrun();
                len = f & 0xFF;
                buf <<= len;
                bits -= len;
                Unsafe.Add(ref coef, Unsafe.Add(ref zigzag, k)) = (short)(f >> 16);
                last = k++;
                continue;
            }
            e = Unsafe.Add(ref lookAc, look);
            if (e == 0 && (e = acTable.DecodeLong(buf)) < 0) throw BadCode();
            len = e >> 8;
            buf <<= len;
            bits -= len;
            int run = (e >> 4) & 15;
            s = e & 15;
            if (s == 0)
            {
                if (run != 15) break; // end of block
                k += 16; // sixteen zeros
                if (k > 64) throw Overrun();
                continue;
            }
            k += run;
            if (k > 63) throw Overrun();
            int v = Extend((int)(buf >> (64 - s)), s);
            buf <<= s;
            bits -= s;
            Unsafe.Add(ref coef, Unsafe.Add(ref zigzag, k)) = (short)v;
            last = k++;
        }
        _buf = buf;
        _bits = bits;
        return last;
    }

    // The progressive procedures are far less hot; they work on the fields directly.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int DecodeSymbol(JpegHuffmanTable table)
    {
        if (_bits < 32) (_buf, _bits) = Refill(_buf, _bits);
        int e = table.Lookup[(int)(_buf >> (64 - JpegHuffmanTable.LookaheadBits))];
        if (e == 0 && (e = table.DecodeLong(_buf)) < 0) throw BadCode();
        int len = e >> 8;
        _buf <<= len;
        _bits -= len;
        return e & 0xFF;
    }

    /// <summary>The next <paramref name="n"/> bits (1..16) as an unsigned number.</summary>
    private int GetBits(int n)
    {
        if (_bits < 32) (_buf, _bits) = Refill(_buf, _bits);
        int v = (int)(_buf >> (64 - n));
        _buf <<= n;
        _bits -= n;
        return v;
    }

    public override void DecodeDcFirst(int scanComponent, Span<short> block)
    {
        int s = DecodeSymbol(_dc[scanComponent]!);
        if (s != 0) _dcPred[scanComponent] += Extend(GetBits(s), s);
        block[0] = (short)(_dcPred[scanComponent] << _al);
    }

    public override void DecodeDcRefine(Span<short> block)
    {
        if (GetBits(1) != 0) block[0] |= (short)(1 << _al);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void DecodeAcFirst(Span<short> block)
    {
        if (_eobRun > 0)
        {
            _eobRun--;
            return;
        }
        JpegHuffmanTable table = _ac[0]!;
        ReadOnlySpan<byte> zigzag = Zigzag;
        for (int k = _ss; k <= _se; k++)
        {
            int sym = DecodeSymbol(table);
            int run = sym >> 4, s = sym & 15;
            if (s != 0)
            {
                k += run;
                if (k > _se) throw Overrun();
                block[zigzag[k]] = (short)(Extend(GetBits(s), s) << _al);
            }
            else if (run == 15)
            {
                k += 15;
                if (k > _se) throw Overrun();
            }
            else
            {
                // End of band, for this block and the next (2^run - 1 + extra bits) blocks.
                _eobRun = (1 << run) - 1;
                if (run != 0) _eobRun += GetBits(run);
                break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void DecodeAcRefine(Span<short> block)
    {
        JpegHuffmanTable table = _ac[0]!;
        ReadOnlySpan<byte> zigzag = Zigzag;
        int p1 = 1 << _al;
        int m1 = -1 << _al;
        int k = _ss;
        if (_eobRun == 0)
        {
            for (; k <= _se; k++)
            {
                int sym = DecodeSymbol(table);
                int run = sym >> 4, s = sym & 15;
                int value = 0;
                if (s != 0)
                {
                    // A newly nonzero coefficient is always +-1 in the bit being refined.
                    if (s != 1) throw Reader.Error("corrupt entropy-coded data: bad refinement symbol");
                    value = GetBits(1) != 0 ? p1 : m1;
                }
                else if (run != 15)
                {
                    _eobRun = 1 << run;
                    if (run != 0) _eobRun += GetBits(run);
                    break;
                }
                // Skip `run` zero-history coefficients, refining the nonzero ones passed on the way.
                while (k <= _se)
                {
                    ref short coef = ref block[zigzag[k]];
                    if (coef != 0)
                    {
                        Refine(ref coef, p1, m1);
                    }
                    else
                    {
                        if (run == 0) break;
                        run--;
                    }
                    k++;
                }
                if (value != 0)
                {
                    if (k > _se) throw Overrun();
                    block[zigzag[k]] = (short)value;
                }
            }
        }
        if (_eobRun > 0)
        {
            // Inside an end-of-band run only the correction bits of nonzero coefficients remain.
            for (; k <= _se; k++)
            {
                ref short coef = ref block[zigzag[k]];
                if (coef != 0) Refine(ref coef, p1, m1);
            }
            _eobRun--;
        }
    }

    private void Refine(ref short coef, int p1, int m1)
    {
        if (GetBits(1) != 0 && (coef & p1) == 0)
            coef += (short)(coef >= 0 ? p1 : m1);
    }
}
