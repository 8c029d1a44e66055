namespace DepthSharp.Imaging;

/// <summary>
/// One DHT table prepared for decoding: a 9-bit lookahead table for short codes, per-length
/// limits for the long ones (T.81 F.2.2.3), and for AC tables a combined table that yields
/// run, length and value of a whole coefficient when code and magnitude fit in 9 bits.
/// </summary>
internal sealed class JpegHuffmanTable
{
    public const int LookaheadBits = 9;
    private const int LookaheadSize = 1 << LookaheadBits;

    /// <summary>(code length &lt;&lt; 8) | symbol for codes of at most 9 bits; 0 where the code is longer.</summary>
    public readonly int[] Lookup = new int[LookaheadSize];

    /// <summary>
    /// AC tables only: (value &lt;&lt; 16) | (run &lt;&lt; 8) | (code length + magnitude bits), or 0 when the
    /// coefficient does not fit in the lookahead or the symbol is EOB/ZRL.
    /// </summary>
    public readonly int[] FastAc = new int[LookaheadSize];

    // maxCode[l]: largest code of length l, -1 if none; valOffset[l]: index of its first symbol minus its first code.
    private readonly int[] _maxCode = new int[17];
    private readonly int[] _valOffset = new int[17];
    private readonly byte[] _symbols;

    /// <summary>Builds the table from the 16 code-length counts and the symbols; null when they do not form a valid table.</summary>
    public static JpegHuffmanTable? Create(ReadOnlySpan<byte> counts, ReadOnlySpan<byte> symbols, bool isDc)
    {
        // As libjpeg: the counts must describe a prefix code that never uses the all-ones code
        // of any length, and DC symbols (magnitude categories) must be at most 15.
        if (isDc)
        {
            foreach (byte s in symbols)
                if (s > 15) return null;
        }
        int code = 0, p = 0;
        var table = new JpegHuffmanTable(symbols.ToArray());
        for (int len = 1; len <= 16; len++)
        {
            int n = counts[len - 1];
            // Checked before the codes are used: they must fit in len bits, the all-ones code excluded.
            if (code + n >= 1 << len) return null;
            if (n == 0)
            {
                table._maxCode[len] = -1;
            }
            else
            {
                table._valOffset[len] = p - code;
                for (int i = 0; i < n; i++, p++, code++)
                {
                    if (len <= LookaheadBits)
                    {
                        int first = code << (LookaheadBits - len);
                        int entry = (len << 8) | symbols[p];
                        for (int j = 0; j < 1 << (LookaheadBits - len); j++)
                            table.Lookup[first + j] = entry;
                    }
                }
                table._maxCode[len] = code - 1;
            }
            code <<= 1;
        }
        if (!isDc) table.BuildFastAc();
        return table;
    }

    private JpegHuffmanTable(byte[] symbols) => _symbols = symbols;

    private void BuildFastAc()
    {
        for (int look = 0; look < LookaheadSize; look++)
        {
            int e = Lookup[look];
            if (e == 0) continue;
            int codeLen = e >> 8, sym = e & 0xFF;
            int run = sym >> 4, size = sym & 15;
            if (size == 0 || codeLen + size > LookaheadBits) continue;
            int raw = (look >> (LookaheadBits - codeLen - size)) & ((1 << size) - 1);
            int value = raw < 1 << (size - 1) ? raw - (1 << size) + 1 : raw;
            FastAc[look] = (value << 16) | (run << 8) | (codeLen + size);
        }
    }

    /// <summary>
    /// Decodes a code longer than the lookahead from the top bits of <paramref name="bits"/>:
    /// returns (length &lt;&lt; 8) | symbol, or -1 when no code matches.
    /// </summary>
    public int DecodeLong(ulong bits)
    {
        for (int len = LookaheadBits + 1; len <= 16; len++)
        {
            int code = (int)(bits >> (64 - len));
            if (code <= _maxCode[len])
            {
                int index = _valOffset[len] + code;
                // Defensive: the DHT parser guarantees a symbol for every counted code.
                return (uint)index < (uint)_symbols.Length ? (len << 8) | _symbols[index] : -1;
            }
        }
        return -1;
    }
}
