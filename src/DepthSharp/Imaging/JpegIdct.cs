using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DepthSharp.Imaging;

/// <summary>
/// libjpeg's accurate integer inverse DCT ("islow", jidctint.c): the same 13-bit fixed-point
/// constants, the same two passes and rounding, and the same output table, so that every sample
/// matches djpeg's default output bit for bit.
/// </summary>
internal static class JpegIdct
{
    private const int ConstBits = 13;
    private const int Pass1Bits = 2;
    private const int Pass1Shift = ConstBits - Pass1Bits;
    private const int Pass2Shift = ConstBits + Pass1Bits + 3;

    // FIX(x) = round(x * 2^13), as libjpeg spells them out.
    private const int Fix0_298631336 = 2446;
    private const int Fix0_390180644 = 3196;
    private const int Fix0_541196100 = 4433;
    private const int Fix0_765366865 = 6270;
    private const int Fix0_899976223 = 7373;
    private const int Fix1_175875602 = 9633;
    private const int Fix1_501321110 = 12299;
    private const int Fix1_847759065 = 15137;
    private const int Fix1_961570560 = 16069;
    private const int Fix2_053119869 = 16819;
    private const int Fix2_562915447 = 20995;
    private const int Fix3_072711026 = 25172;

    /// <summary>
    /// libjpeg's post-IDCT range-limit table, indexed by (value &amp; 1023): values that are
    /// slightly out of range clamp, wildly out-of-range ones wrap as in libjpeg.
    /// </summary>
    private static readonly byte[] RangeLimit = BuildRangeLimit();

    private static byte[] BuildRangeLimit()
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
    public static void Transform(ReadOnlySpan<short> coef, ReadOnlySpan<int> quant, Span<byte> dst, int stride, bool simd)
    {
        if (simd && Avx2.IsSupported)
            TransformAvx2(coef, quant, dst, stride);
        else
            TransformScalar(coef, quant, dst, stride);
    }

    /// <summary>
    /// The same arithmetic eight columns (then rows) at a time. It skips libjpeg's shortcuts for
    /// all-zero columns and rows, which give the same values as the full computation.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransformAvx2(ReadOnlySpan<short> coef, ReadOnlySpan<int> quant, Span<byte> dst, int stride)
    {
        coef = coef[..64];
        quant = quant[..64];
        _ = dst[7 * stride + 7]; // the stores below write 8 bytes on each of 8 rows
        ref short c = ref MemoryMarshal.GetReference(coef);
        ref int q = ref MemoryMarshal.GetReference(quant);
        Vector256<int> v0 = Dequantize(ref c, ref q, 0), v1 = Dequantize(ref c, ref q, 1);
        Vector256<int> v2 = Dequantize(ref c, ref q, 2), v3 = Dequantize(ref c, ref q, 3);
        Vector256<int> v4 = Dequantize(ref c, ref q, 4), v5 = Dequantize(ref c, ref q, 5);
        Vector256<int> v6 = Dequantize(ref c, ref q, 6), v7 = Dequantize(ref c, ref q, 7);

        // Each vector is one row; lane-wise arithmetic transforms all eight columns together.
        Butterfly(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7, Pass1Shift);
        Transpose(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
        Butterfly(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7, Pass2Shift);
        Transpose(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);

        ref byte d = ref MemoryMarshal.GetReference(dst);
        Store(Limit(v0), Limit(v1), Limit(v2), Limit(v3), ref d, 0, stride);
        Store(Limit(v4), Limit(v5), Limit(v6), Limit(v7), ref d, 4, stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dequantize(ref short c, ref int q, int row) =>
        Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref c, (nuint)(row * 8))) *
        Vector256.LoadUnsafe(ref q, (nuint)(row * 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Butterfly(ref Vector256<int> v0, ref Vector256<int> v1, ref Vector256<int> v2, ref Vector256<int> v3,
        ref Vector256<int> v4, ref Vector256<int> v5, ref Vector256<int> v6, ref Vector256<int> v7, int shift)
    {
        Vector256<int> z1 = (v2 + v6) * Fix0_541196100;
        Vector256<int> tmp2 = z1 - v6 * Fix1_847759065;
        Vector256<int> tmp3 = z1 + v2 * Fix0_765366865;
        Vector256<int> tmp0 = (v0 + v4) << ConstBits;
        Vector256<int> tmp1 = (v0 - v4) << ConstBits;
        Vector256<int> tmp10 = tmp0 + tmp3;
        Vector256<int> tmp13 = tmp0 - tmp3;
        Vector256<int> tmp11 = tmp1 + tmp2;
        Vector256<int> tmp12 = tmp1 - tmp2;

        tmp0 = v7;
        tmp1 = v5;
        tmp2 = v3;
        tmp3 = v1;
        z1 = tmp0 + tmp3;
        Vector256<int> z2 = tmp1 + tmp2;
        Vector256<int> z3 = tmp0 + tmp2;
        Vector256<int> z4 = tmp1 + tmp3;
        Vector256<int> z5 = (z3 + z4) * Fix1_175875602;
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

        Vector256<int> round = Vector256.Create(1 << (shift - 1));
        tmp10 += round;
        tmp11 += round;
        tmp12 += round;
        tmp13 += round;
        v0 = (tmp10 + tmp3) >> shift;
        v7 = (tmp10 - tmp3) >> shift;
        v1 = (tmp11 + tmp2) >> shift;
        v6 = (tmp11 - tmp2) >> shift;
        v2 = (tmp12 + tmp1) >> shift;
        v5 = (tmp12 - tmp1) >> shift;
        v3 = (tmp13 + tmp0) >> shift;
        v4 = (tmp13 - tmp0) >> shift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref Vector256<int> v0, ref Vector256<int> v1, ref Vector256<int> v2, ref Vector256<int> v3,
        ref Vector256<int> v4, ref Vector256<int> v5, ref Vector256<int> v6, ref Vector256<int> v7)
    {
        Vector256<long> t0 = Avx2.UnpackLow(v0, v1).AsInt64(), t1 = Avx2.UnpackHigh(v0, v1).AsInt64();
        Vector256<long> t2 = Avx2.UnpackLow(v2, v3).AsInt64(), t3 = Avx2.UnpackHigh(v2, v3).AsInt64();
        Vector256<long> t4 = Avx2.UnpackLow(v4, v5).AsInt64(), t5 = Avx2.UnpackHigh(v4, v5).AsInt64();
        Vector256<long> t6 = Avx2.UnpackLow(v6, v7).AsInt64(), t7 = Avx2.UnpackHigh(v6, v7).AsInt64();
        Vector256<int> u0 = Avx2.UnpackLow(t0, t2).AsInt32(), u1 = Avx2.UnpackHigh(t0, t2).AsInt32();
        Vector256<int> u2 = Avx2.UnpackLow(t1, t3).AsInt32(), u3 = Avx2.UnpackHigh(t1, t3).AsInt32();
        Vector256<int> u4 = Avx2.UnpackLow(t4, t6).AsInt32(), u5 = Avx2.UnpackHigh(t4, t6).AsInt32();
        Vector256<int> u6 = Avx2.UnpackLow(t5, t7).AsInt32(), u7 = Avx2.UnpackHigh(t5, t7).AsInt32();
        v0 = Avx2.Permute2x128(u0, u4, 0x20);
        v4 = Avx2.Permute2x128(u0, u4, 0x31);
        v1 = Avx2.Permute2x128(u1, u5, 0x20);
        v5 = Avx2.Permute2x128(u1, u5, 0x31);
        v2 = Avx2.Permute2x128(u2, u6, 0x20);
        v6 = Avx2.Permute2x128(u2, u6, 0x31);
        v3 = Avx2.Permute2x128(u3, u7, 0x20);
        v7 = Avx2.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>The range-limit table as arithmetic: wrap to 10 bits signed, add 128, clamp.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Limit(Vector256<int> x)
    {
        Vector256<int> wrapped = ((x + Vector256.Create(512)) & Vector256.Create(1023)) - Vector256.Create(512 - 128);
        return Vector256.Min(Vector256.Max(wrapped, Vector256<int>.Zero), Vector256.Create(255));
    }

    /// <summary>Writes four rows of eight samples (values already 0..255) starting at row <paramref name="row"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<int> a, Vector256<int> b, Vector256<int> c, Vector256<int> d, ref byte dst, int row, int stride)
    {
        // Packing interleaves 128-bit lanes; the permutation puts each row's eight bytes together.
        Vector256<byte> bytes = Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(a, b), Avx2.PackSignedSaturate(c, d));
        Vector256<ulong> rows = Avx2.PermuteVar8x32(bytes.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsUInt64();
        for (int i = 0; i < 4; i++)
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, (row + i) * stride), rows.GetElement(i));
    }

    /// <summary>libjpeg's jpeg_idct_islow, one column and one row at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    internal static unsafe void TransformScalar(ReadOnlySpan<short> coef, ReadOnlySpan<int> quant, Span<byte> dst, int stride)
    {
        // The checks make every pointer access below stay inside the spans.
        coef = coef[..64];
        quant = quant[..64];
        dst = dst[..(7 * stride + 8)];
        int* ws = stackalloc int[64];
        fixed (short* cp = coef)
        fixed (int* qp = quant)
        fixed (byte* range = RangeLimit)
        fixed (byte* dp = dst)
        {
            // Pass 1: columns, results scaled up by 2^Pass1Bits.
            for (int c = 0; c < 8; c++)
            {
                short* col = cp + c;
                int* q = qp + c;
                int* w = ws + c;
                if (col[8] == 0 && col[16] == 0 && col[24] == 0 && col[32] == 0 && col[40] == 0 && col[48] == 0 && col[56] == 0)
                {
                    // An all-zero AC column gives the same value as the full computation, faster.
                    int dc = (col[0] * q[0]) << Pass1Bits;
                    for (int r = 0; r < 64; r += 8) w[r] = dc;
                    continue;
                }

                int z2 = col[16] * q[16];
                int z3 = col[48] * q[48];
                int z1 = (z2 + z3) * Fix0_541196100;
                int tmp2 = z1 - z3 * Fix1_847759065;
                int tmp3 = z1 + z2 * Fix0_765366865;

                z2 = col[0] * q[0];
                z3 = col[32] * q[32];
                int tmp0 = (z2 + z3) << ConstBits;
                int tmp1 = (z2 - z3) << ConstBits;

                int tmp10 = tmp0 + tmp3;
                int tmp13 = tmp0 - tmp3;
                int tmp11 = tmp1 + tmp2;
                int tmp12 = tmp1 - tmp2;

                tmp0 = col[56] * q[56];
                tmp1 = col[40] * q[40];
                tmp2 = col[24] * q[24];
                tmp3 = col[8] * q[8];
                Odd(ref tmp0, ref tmp1, ref tmp2, ref tmp3);

                const int round = 1 << (Pass1Shift - 1);
                w[0] = (tmp10 + tmp3 + round) >> Pass1Shift;
                w[56] = (tmp10 - tmp3 + round) >> Pass1Shift;
                w[8] = (tmp11 + tmp2 + round) >> Pass1Shift;
                w[48] = (tmp11 - tmp2 + round) >> Pass1Shift;
                w[16] = (tmp12 + tmp1 + round) >> Pass1Shift;
                w[40] = (tmp12 - tmp1 + round) >> Pass1Shift;
                w[24] = (tmp13 + tmp0 + round) >> Pass1Shift;
                w[32] = (tmp13 - tmp0 + round) >> Pass1Shift;
            }

            // Pass 2: rows, descaled by 2^(Pass1Bits + 3) more and range-limited.
            for (int r = 0; r < 8; r++)
            {
                int* w = ws + r * 8;
                byte* o = dp + r * stride;
                if (w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0)
                {
                    byte v = range[((w[0] + (1 << (Pass1Bits + 2))) >> (Pass1Bits + 3)) & 1023];
                    for (int i = 0; i < 8; i++) o[i] = v;
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
    }

    /// <summary>The odd part shared by both passes: inputs are the values at 7, 5, 3, 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Odd(ref int tmp0, ref int tmp1, ref int tmp2, ref int tmp3)
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
