using System.Runtime.CompilerServices;

namespace DepthSharp.Imaging;

/// <summary>
/// libjpeg-turbo's inter-block smoothing for progressive files (jdcoefct.c, decompress_smooth_data,
/// as of 3.0.1): when some of the first nine AC coefficients were never refined to full
/// precision, djpeg estimates the still-zero ones from the DC values of the 5x5 neighbouring
/// blocks before the inverse DCT. Complete files with a standard scan script never need it.
/// </summary>
internal static class JpegBlockSmoothing
{
    // Natural-order positions of zigzag coefficients 1 to 9.
    private const int Q01 = 1, Q10 = 8, Q20 = 16, Q11 = 9, Q02 = 2, Q03 = 3, Q12 = 10, Q21 = 17, Q30 = 24;

    /// <summary>
    /// libjpeg's smoothing_ok: every component has had a DC scan, every quantizer involved is
    /// nonzero, and some estimable coefficient is inexact.
    /// </summary>
    public static bool IsUseful(JpegFrame frame)
    {
        bool useful = false;
        foreach (JpegComponent c in frame.Components)
        {
            if (c.CoefBits[0] < 0) return false;
            int[] q = c.Quant!;
            if (q[0] == 0 || q[Q01] == 0 || q[Q10] == 0 || q[Q20] == 0 || q[Q11] == 0 ||
                q[Q02] == 0 || q[Q03] == 0 || q[Q12] == 0 || q[Q21] == 0 || q[Q30] == 0)
                return false;
            for (int k = 1; k <= 9; k++)
                if (c.CoefBits[k] != 0) useful = true;
        }
        return useful;
    }

    /// <summary>
    /// Inverse DCT of every block of <paramref name="c"/> with smoothing; <paramref name="iMcuRows"/> is
    /// the frame's MCU row count, <paramref name="simd"/> allows the vector IDCT.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Render(JpegComponent c, int iMcuRows, bool simd)
    {
        int[] bits = c.CoefBits;
        int[] q = c.Quant!;
        int[] idctQuant = c.IdctQuant!;
        // DC values are re-estimated only when no AC coefficient data arrived at all.
        bool changeDc = true;
        for (int k = 1; k <= 9; k++)
            if (bits[k] != -1) changeDc = false;

        Span<short> ws = stackalloc short[64];
        Span<int> dc = stackalloc int[25];
        var rows = new short[]?[5];
        int v = c.V, last = c.BlocksWide - 1;
        for (int r = 0; r < iMcuRows; r++)
        {
            int blockRows = r < iMcuRows - 1 || c.BlocksHigh % v == 0 ? v : c.BlocksHigh % v;
            // libjpeg counts image block rows with this iMCU row's height, which in a partial last
            // row is not the real count; the neighbour choice below reproduces it exactly.
            int imageBlockRows = blockRows * iMcuRows;
            for (int b = 0; b < blockRows; b++)
            {
                int row = r * v + b;
                int imageRow = r * blockRows + b;
                int prev = imageRow > 0 ? row - 1 : row;
                int prevPrev = imageRow > 1 ? row - 2 : prev;
                int next = imageRow < imageBlockRows - 1 ? row + 1 : row;
                int nextNext = imageRow < imageBlockRows - 2 ? row + 2 : next;
                rows[0] = c.StoredCoefBlockRow(prevPrev);
                rows[1] = c.StoredCoefBlockRow(prev);
                short[] cur = c.CoefBlockRow(row);
                rows[2] = cur;
                rows[3] = c.StoredCoefBlockRow(next);
                rows[4] = c.StoredCoefBlockRow(nextNext);
                byte[] samples = c.SampleBlockRow(row);
                for (int bx = 0; bx <= last; bx++)
                {
                    // DC01..DC25 of libjpeg: rows two above to two below, columns clamped to the picture.
                    for (int i = 0; i < 5; i++)
                    {
                        short[]? src = rows[i];
                        for (int j = 0; j < 5; j++)
                            dc[i * 5 + j] = src is null ? 0 : src[Math.Clamp(bx + j - 2, 0, last) * 64];
                    }
                    cur.AsSpan(bx * 64, 64).CopyTo(ws);
                    Estimate(ws, dc, bits, q, changeDc);
                    JpegIdct.Transform(ws, idctQuant, samples.AsSpan(bx * 8), c.Stride, simd);
                }
            }
        }
        for (int row = 0; row < c.PaddedBlocksHigh; row++)
            c.ReleaseCoefBlockRow(row);
    }

    private static void Estimate(Span<short> ws, ReadOnlySpan<int> d, int[] bits, int[] q, bool changeDc)
    {
        // d[n - 1] is libjpeg's DCn.
        long q00 = q[0];
        if (bits[1] != 0 && ws[Q01] == 0)
        {
            long sum = changeDc
                ? -d[0] - d[1] + d[3] + d[4] - 3 * d[5] + 13 * d[6] - 13 * d[8] + 3 * d[9] - 3 * d[10] + 38 * d[11]
                  - 38 * d[13] + 3 * d[14] - 3 * d[15] + 13 * d[16] - 13 * d[18] + 3 * d[19] - d[20] - d[21] + d[23] + d[24]
                : -7 * d[10] + 50 * d[11] - 50 * d[13] + 7 * d[14];
            ws[Q01] = Predict(q00 * sum, q[Q01], bits[1]);
        }
        if (bits[2] != 0 && ws[Q10] == 0)
        {
            long sum = changeDc
                ? -d[0] - 3 * d[1] - 3 * d[2] - 3 * d[3] - d[4] - d[5] + 13 * d[6] + 38 * d[7] + 13 * d[8] - d[9]
                  + d[15] - 13 * d[16] - 38 * d[17] - 13 * d[18] + d[19] + d[20] + 3 * d[21] + 3 * d[22] + 3 * d[23] + d[24]
                : -7 * d[2] + 50 * d[7] - 50 * d[17] + 7 * d[22];
            ws[Q10] = Predict(q00 * sum, q[Q10], bits[2]);
        }
        if (bits[3] != 0 && ws[Q20] == 0)
        {
            long sum = changeDc
                ? d[2] + 2 * d[6] + 7 * d[7] + 2 * d[8] - 5 * d[11] - 14 * d[12] - 5 * d[13] + 2 * d[16] + 7 * d[17] + 2 * d[18] + d[22]
                : -d[2] + 13 * d[7] - 24 * d[12] + 13 * d[17] - d[22];
            ws[Q20] = Predict(q00 * sum, q[Q20], bits[3]);
        }
        if (bits[4] != 0 && ws[Q11] == 0)
        {
            long sum = changeDc
                ? -d[0] + d[4] + 9 * d[6] - 9 * d[8] - 9 * d[16] + 9 * d[18] + d[20] - d[24]
                : d[9] + d[15] - 10 * d[16] + 10 * d[18] - d[1] - d[19] + d[21] - d[23] + d[3] - d[5] + 10 * d[6] - 10 * d[8];
            ws[Q11] = Predict(q00 * sum, q[Q11], bits[4]);
        }
        if (bits[5] != 0 && ws[Q02] == 0)
        {
            long sum = changeDc
                ? 2 * d[6] - 5 * d[7] + 2 * d[8] + d[10] + 7 * d[11] - 14 * d[12] + 7 * d[13] + d[14] + 2 * d[16] - 5 * d[17] + 2 * d[18]
                : -d[10] + 13 * d[11] - 24 * d[12] + 13 * d[13] - d[14];
            ws[Q02] = Predict(q00 * sum, q[Q02], bits[5]);
        }
        if (!changeDc) return;
        if (bits[6] != 0 && ws[Q03] == 0)
            ws[Q03] = Predict(q00 * (d[6] - d[8] + 2 * d[11] - 2 * d[13] + d[16] - d[18]), q[Q03], bits[6]);
        if (bits[7] != 0 && ws[Q12] == 0)
            ws[Q12] = Predict(q00 * (d[6] - 3 * d[7] + d[8] - d[16] + 3 * d[17] - d[18]), q[Q12], bits[7]);
        if (bits[8] != 0 && ws[Q21] == 0)
            ws[Q21] = Predict(q00 * (d[6] - d[8] - 3 * d[11] + 3 * d[13] + d[16] - d[18]), q[Q21], bits[8]);
        if (bits[9] != 0 && ws[Q30] == 0)
            ws[Q30] = Predict(q00 * (d[6] + 2 * d[7] + d[8] - d[16] - 2 * d[17] - d[18]), q[Q30], bits[9]);
        long dcSum = -2 * d[0] - 6 * d[1] - 8 * d[2] - 6 * d[3] - 2 * d[4] - 6 * d[5] + 6 * d[6] + 42 * d[7] + 6 * d[8]
            - 6 * d[9] - 8 * d[10] + 42 * d[11] + 152 * d[12] + 42 * d[13] - 8 * d[14] - 6 * d[15] + 6 * d[16]
            + 42 * d[17] + 6 * d[18] - 6 * d[19] - 2 * d[20] - 6 * d[21] - 8 * d[22] - 6 * d[23] - 2 * d[24];
        ws[0] = Predict(q00 * dcSum, q00, 0);
    }

    /// <summary>
    /// num / (256 q), rounded, as a coefficient; an estimate for a coefficient whose top bits are
    /// known to be zero (al &gt; 0) stays below 2^al in magnitude.
    /// </summary>
    private static short Predict(long num, long q, int al)
    {
        long magnitude = ((q << 7) + Math.Abs(num)) / (q << 8);
        if (al > 0 && magnitude >= 1L << al) magnitude = (1L << al) - 1;
        return (short)(num >= 0 ? magnitude : -magnitude);
    }
}
