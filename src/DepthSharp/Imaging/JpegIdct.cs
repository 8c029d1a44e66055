namespace DepthSharp.Imaging;

/// <summary>
/// libjpeg's accurate integer inverse DCT ("islow", jidctint.c): the same 13-bit fixed-point
/// constants, the same two passes and rounding, and the same output table, so that every sample
/// matches djpeg's default output bit for bit.
/// </summary>
internal static class JpegIdct
{
    const int ConstBits = 13;
    const int Pass1Bits = 2;
    const int Pass1Shift = ConstBits - Pass1Bits;
    const int Pass2Shift = ConstBits + Pass1Bits + 3;

    // FIX(x) = round(x * 2^13), as libjpeg spells them out.
    const int Fix0_298631336 = 2446;
    const int Fix0_390180644 = 3196;
    const int Fix0_541196100 = 4433;
    const int Fix0_765366865 = 6270;
    const int Fix0_899976223 = 7373;
    const int Fix1_175875602 = 9633;
    const int Fix1_501321110 = 12299;
    const int Fix1_847759065 = 15137;
    const int Fix1_961570560 = 16069;
    const int Fix2_053119869 = 16819;
    const int Fix2_562915447 = 20995;
    const int Fix3_072711026 = 25172;

    /// <summary>
    /// libjpeg's post-IDCT range-limit table, indexed by (value &amp; 1023): values that are
    /// slightly out of range clamp, wildly out-of-range ones wrap as in libjpeg.
    /// </summary>
    static readonly byte[] RangeLimit = BuildRangeLimit();

    static byte[] BuildRangeLimit()
    {
        var t = new byte[1024];
        for (int x = 0; x < 1024; x++)
        {
            int signed = x < 512 ? x : x - 1024;
            t[x] = (byte)Math.Clamp(signed + 128, 0, 255);
        }
        return t;
    }

    /// <summary>Sample value of a block whose only nonzero coefficient is DC (already dequantized).</summary>
    public static byte DcOnlyValue(int dequantizedDc) => RangeLimit[(((dequantizedDc << Pass1Bits) + (1 << 4)) >> 5) & 1023];

    /// <summary>Fills an 8x8 block of <paramref name="dst"/> (row pitch <paramref name="stride"/>) with one value.</summary>
    public static void Fill(byte value, Span<byte> dst, int stride)
    {
        for (int r = 0; r < 8; r++)
            dst.Slice(r * stride, 8).Fill(value);
    }

    /// <summary>
    /// Dequantizes <paramref name="coef"/> (natural order) with <paramref name="quant"/> and writes the
    /// 8x8 samples into <paramref name="dst"/> with row pitch <paramref name="stride"/>.
    /// </summary>
    public static void Transform(ReadOnlySpan<short> coef, ReadOnlySpan<int> quant, Span<byte> dst, int stride)
    {
        coef = coef[..64];
        quant = quant[..64];
        Span<int> ws = stackalloc int[64];
        byte[] range = RangeLimit;

        // Pass 1: columns, results scaled up by 2^Pass1Bits.
        for (int c = 0; c < 8; c++)
        {
            if (coef[8 + c] == 0 && coef[16 + c] == 0 && coef[24 + c] == 0 && coef[32 + c] == 0 &&
                coef[40 + c] == 0 && coef[48 + c] == 0 && coef[56 + c] == 0)
            {
                // An all-zero AC column gives the same value as the full computation, faster.
                int dc = (coef[c] * quant[c]) << Pass1Bits;
                for (int r = 0; r < 8; r++) ws[r * 8 + c] = dc;
                continue;
            }

            int z2 = coef[16 + c] * quant[16 + c];
            int z3 = coef[48 + c] * quant[48 + c];
            int z1 = (z2 + z3) * Fix0_541196100;
            int tmp2 = z1 - z3 * Fix1_847759065;
            int tmp3 = z1 + z2 * Fix0_765366865;

            z2 = coef[c] * quant[c];
            z3 = coef[32 + c] * quant[32 + c];
            int tmp0 = (z2 + z3) << ConstBits;
            int tmp1 = (z2 - z3) << ConstBits;

            int tmp10 = tmp0 + tmp3;
            int tmp13 = tmp0 - tmp3;
            int tmp11 = tmp1 + tmp2;
            int tmp12 = tmp1 - tmp2;

            tmp0 = coef[56 + c] * quant[56 + c];
            tmp1 = coef[40 + c] * quant[40 + c];
            tmp2 = coef[24 + c] * quant[24 + c];
            tmp3 = coef[8 + c] * quant[8 + c];
            Odd(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

            const int round = 1 << (Pass1Shift - 1);
            ws[c] = (tmp10 + tmp3 + round) >> Pass1Shift;
            ws[56 + c] = (tmp10 - tmp3 + round) >> Pass1Shift;
            ws[8 + c] = (tmp11 + tmp2 + round) >> Pass1Shift;
            ws[48 + c] = (tmp11 - tmp2 + round) >> Pass1Shift;
            ws[16 + c] = (tmp12 + tmp1 + round) >> Pass1Shift;
            ws[40 + c] = (tmp12 - tmp1 + round) >> Pass1Shift;
            ws[24 + c] = (tmp13 + tmp0 + round) >> Pass1Shift;
            ws[32 + c] = (tmp13 - tmp0 + round) >> Pass1Shift;
        }

        // Pass 2: rows, descaled by 2^(Pass1Bits + 3) more and range-limited.
        for (int r = 0; r < 8; r++)
        {
            Span<int> w = ws.Slice(r * 8, 8);
            Span<byte> o = dst.Slice(r * stride, 8);
            if (w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0)
            {
                o.Fill(range[((w[0] + (1 << (Pass1Bits + 2))) >> (Pass1Bits + 3)) & 1023]);
                continue;
            }

            int z2 = w[2];
            int z3 = w[6];
            int z1 = (z2 + z3) * Fix0_541196100;
            int tmp2 = z1 - z3 * Fix1_847759065;
            int tmp3 = z1 + z2 * Fix0_765366865;

            int tmp0 = (w[0] + w[4]) << ConstBits;
            int tmp1 = (w[0] - w[4]) << ConstBits;

            int tmp10 = tmp0 + tmp3;
            int tmp13 = tmp0 - tmp3;
            int tmp11 = tmp1 + tmp2;
            int tmp12 = tmp1 - tmp2;

            tmp0 = w[7];
            tmp1 = w[5];
            tmp2 = w[3];
            tmp3 = w[1];
            Odd(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

            const int round = 1 << (Pass2Shift - 1);
            o[0] = range[((tmp10 + tmp3 + round) >> Pass2Shift) & 1023];
            o[7] = range[((tmp10 - tmp3 + round) >> Pass2Shift) & 1023];
            o[1] = range[((tmp11 + tmp2 + round) >> Pass2Shift) & 1023];
            o[6] = range[((tmp11 - tmp2 + round) >> Pass2Shift) & 1023];
            o[2] = range[((tmp12 + tmp1 + round) >> Pass2Shift) & 1023];
            o[5] = range[((tmp12 - tmp1 + round) >> Pass2Shift) & 1023];
            o[3] = range[((tmp13 + tmp0 + round) >> Pass2Shift) & 1023];
            o[4] = range[((tmp13 - tmp0 + round) >> Pass2Shift) & 1023];
        }
    }

    /// <summary>The odd part shared by both passes: inputs are the values at 7, 5, 3, 1.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    static void Odd(ref int tmp0, ref int tmp1, ref int tmp2, ref int tmp3)
    {
        int z1 = tmp0 + tmp3;
        int z2 = tmp1 + tmp2;
        int z3 = tmp0 + tmp2;
        int z4 = tmp1 + tmp3;
        int z5 = (z3 + z4) * Fix1_175875602;

        tmp0 *= Fix0_298631336;
        tmp1 *= Fix2_053119869;
        tmp2 *= Fix3_072711026;
        tmp3 *= Fix1_501321110;
        z1 *= -Fix0_899976223;
        z2 *= -Fix2_562915447;
        z3 = z3 * -Fix1_961570560 + z5;
        z4 = z4 * -Fix0_390180644 + z5;

        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
    }
}
