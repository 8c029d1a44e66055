using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

/// <summary>
/// Packs rows [p0, p0+kc) × columns [j0, j0+nc) of op(B) into Nr-wide slivers: the sliver of columns [jr, jr+Nr) starts at
/// dst + jr·kc and holds Nr values per k step, zero-padded past nc.
/// </summary>
internal unsafe interface IPackB
{
    void Pack(int p0, int kc, int j0, int nc, float* dst);

    /// <summary>The block already in packed layout (a weight packed at load), or null when it must be packed.</summary>
    float* Prepacked(int p0, int kc, int j0);

    /// <summary>Whether the whole operand was packed at load (every block <see cref="Prepacked"/>).</summary>
    bool PackedAtLoad { get; }

    /// <summary>The depth of the K slices the product of depth k is cut into.</summary>
    int SliceDepth(int k);
}

/// <summary>op(B) read from a dense row-major matrix.</summary>
internal readonly unsafe struct DenseB(float* b, int ldb, bool trans) : IPackB
{
    public float* Prepacked(int p0, int kc, int j0) => null;

    public bool PackedAtLoad => false;

    public int SliceDepth(int k) => PackedGemm.KSlice(k);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int p0, int kc, int j0, int nc, float* dst)
    {
        int nrW = GemmKernels.Nr;
        for (int jr = 0; jr < nc; jr += nrW)
        {
            int nr = Math.Min(nrW, nc - jr);
            float* d = dst + (long)jr * kc;
            if (!trans)
            {
                float* s = b + (long)p0 * ldb + j0 + jr;
                if (nr == nrW)
                    for (int p = 0; p < kc; p++, s += ldb, d += nrW) PackedGemm.Copy(s, d, nrW);
                else
                    for (int p = 0; p < kc; p++, s += ldb, d += nrW) PackedGemm.CopyPadded(s, d, nr, nrW);
            }
            else
            {
                // op(B)[p, j] = b[j·ldb + p]: each packed column is a contiguous run of b.
                float* s = b + (long)(j0 + jr) * ldb + p0;
                PackedGemm.Transpose(s, ldb, nr, kc, d, nrW);
            }
        }
    }
}

/// <summary>Rows of a row-major weight stored narrower than float32: widens count values of row p from column j.</summary>
internal unsafe interface IWidenRows
{
    void Widen(int p, int j, int count, float* dst);
}

/// <summary>op(B) read from a row-major matrix in a narrower format (weights kept so), widened to float32 as it is packed.</summary>
internal readonly unsafe struct WidenedB<TRows>(TRows rows) : IPackB where TRows : struct, IWidenRows
{
    public float* Prepacked(int p0, int kc, int j0) => null;

    public bool PackedAtLoad => false;

    public int SliceDepth(int k) => PackedGemm.WeightSlice(k);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Pack(int p0, int kc, int j0, int nc, float* dst)
    {
        int nrW = GemmKernels.Nr;
        for (int jr = 0; jr < nc; jr += nrW)
        {
            int nr = Math.Min(nrW, nc - jr);
            float* d = dst + (long)jr * kc;
            for (int p = 0; p < kc; p++, d += nrW)
            {
                rows.Widen(p0 + p, j0 + jr, nr, d);
                for (int t = nr; t < nrW; t++) d[t] = 0f;
            }
        }
    }
}

/// <summary>16-bit floats (F16 or BF16) as a checkpoint stores them.</summary>
internal readonly unsafe struct HalfRows(ushort* b, int ldb, HalfKind kind) : IWidenRows
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Widen(int p, int j, int count, float* dst) => HalfConvert.Widen(b + (long)p * ldb + j, kind, dst, count);
}

/// <summary>8-bit values with a scale per column (see Int8Weight): value × scale.</summary>
internal readonly unsafe struct Int8Rows(sbyte* b, int ldb, float* scales) : IWidenRows
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Widen(int p, int j, int count, float* dst)
    {
        sbyte* s = b + (long)p * ldb + j;
        float* sc = scales + j;
        if (count == 32 && Avx512F.IsSupported)
        {
            Vector512.Store(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(s))) * Vector512.Load(sc), dst);
            Vector512.Store(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.Load(s + 16))) * Vector512.Load(sc + 16), dst + 16);
            return;
        }
        for (int t = 0; t < count; t++) dst[t] = s[t] * sc[t];
    }
}

/// <summary>
/// op(B) packed once, whole: K is cut into the slices <see cref="PackedGemm.WeightSlice"/> gives for this K, and slice p0
/// (kc rows) holds every Nr-wide sliver of all nPad columns, sliver j0 at p0·nPad + j0·kc: the layout
/// <see cref="IPackB.Pack"/> writes for any column range, so the GEMM reads it in place.
/// </summary>
internal readonly unsafe struct PrepackedB(float* packed, int nPad) : IPackB
{
    public void Pack(int p0, int kc, int j0, int nc, float* dst) =>
        throw new InvalidOperationException("a prepacked operand is read in place");

    public float* Prepacked(int p0, int kc, int j0) => packed + (long)p0 * nPad + (long)j0 * kc;

    public bool PackedAtLoad => true;

    public int SliceDepth(int k) => PackedGemm.WeightSlice(k);
}

/// <summary>
/// Blocked, packed SGEMM in the GotoBLAS/BLIS arrangement: for each NC-wide column block and KC-deep slice, op(B) is packed
/// into Nr-wide slivers; for each MC-high row block op(A) is packed into Mr-high slivers; the register-blocked micro-kernel
/// then sweeps the block. Threads split M or N into disjoint ranges, each with its own pack buffers.
/// </summary>
internal static unsafe class PackedGemm
{
    // Measured on Zen 4 (32 KiB L1, 1 MiB L2): a B sliver (KC·Nr = 48 KiB) is reread from L1/L2 by every tile of a row
    // block, the A block (MC·KC = 252 KiB) stays in L2, and the B panel (KC·NC = 6 MiB) sits in L3 while the row blocks
    // stream past it. Throughput was flat (±3%) for KC 256–384, MC 84–336, NC 1024–4096; the widest NC packs A least
    // often (once for the ViT's 4096-wide MLP layer).
    public const int KC = 384;

    // A weight operand is cut deeper: fewer slices mean fewer round trips of C, and the A block (MC·1024 = 688 KiB) still
    // fits L2. Interleaved in one process against 384, 2 threads: linear layers 1–8% more GFLOP/s (f32 packed and f16
    // widened alike), Large −4%, Base −0.4 to −2.6%, Small ±2% a pass; 1536 was worse (Small +3.5%).
    public const int KCWeights = 1024;
    public const int NC = 4096;
    public static readonly int MC = GemmKernels.Mr * 12;

    /// <summary>Below this many flops a second thread costs more than it saves.</summary>
    private const long ParallelFlops = 1L << 22;

    /// <summary>
    /// C[m,n] (+)= op(A) op(B) [+ rowBias[i]] [+ colBias[j]] using up to <paramref name="threads"/> threads.
    /// rowBias and colBias may be null; they are added once (not per K slice).
    /// </summary>
    public static void Run<TB>(int m, int n, int k, float* a, int lda, bool transA, TB packB,
        float* c, int ldc, bool accumulate, float* rowBias, float* colBias, int threads) where TB : struct, IPackB
    {
        if (m <= 0 || n <= 0) return;
        int mr = GemmKernels.Mr, nr = GemmKernels.Nr;
        long flops = 2L * m * n * k;
        bool splitM = m >= n;
        int units = splitM ? (m + mr - 1) / mr : (n + nr - 1) / nr;
        int parts = flops < ParallelFlops ? 1 : Math.Min(threads, units);
        if (parts <= 1)
        {
            Blocked(0, m, 0, n, k, a, lda, transA, packB, c, ldc, accumulate, rowBias, colBias);
            return;
        }
        // With B packed at load, a row range costs nothing to hand out, so rows are claimed in shrinking chunks and a
        // core the host slows down takes fewer (this VM's two cores differ by over 10% in one 50 ms slice in ten).
        // Otherwise every part packs the B panel it reads, and fixed halves keep that to once per thread.
        bool claimRows = splitM && packB.PackedAtLoad;
        var job = new Job<TB>(m, n, k, a, lda, transA, packB, c, ldc, accumulate, rowBias, colBias, splitM, units, parts);
        WorkerTeam.For(parts, claimRows ? job.ClaimRows : job.Part);
    }

    /// <summary>The arguments of one threaded call, so the worker delegate captures no pointer locals.</summary>
    private sealed class Job<TB>(int m, int n, int k, float* a, int lda, bool transA, TB packB, float* c, int ldc,
        bool accumulate, float* rowBias, float* colBias, bool splitM, int units, int parts) where TB : struct, IPackB
    {
        private int _claimed;

        /// <summary>Claims row tiles until none are left: a chunk is 1/(2·parts) of what remains, at least two tiles.</summary>
        public void ClaimRows(int t)
        {
            int mr = GemmKernels.Mr;
            while (true)
            {
                int u0, take;
                do
                {
                    u0 = Volatile.Read(ref _claimed);
                    if (u0 >= units) return;
                    take = Math.Min(units - u0, Math.Max(2, (units - u0) / (2 * parts)));
                }
                while (Interlocked.CompareExchange(ref _claimed, u0 + take, u0) != u0);
                Blocked(u0 * mr, Math.Min(m, (u0 + take) * mr), 0, n, k, a, lda, transA, packB, c, ldc, accumulate, rowBias, colBias);
            }
        }

        public void Part(int t)
        {
            // Whole tiles per part, spread as evenly as the tile count allows.
            int u0 = (int)((long)units * t / parts), u1 = (int)((long)units * (t + 1) / parts);
            if (splitM)
            {
                int mr = GemmKernels.Mr;
                Blocked(u0 * mr, Math.Min(m, u1 * mr), 0, n, k, a, lda, transA, packB, c, ldc, accumulate, rowBias, colBias);
            }
            else
            {
                int nr = GemmKernels.Nr;
                Blocked(0, m, u0 * nr, Math.Min(n, u1 * nr), k, a, lda, transA, packB, c, ldc, accumulate, rowBias, colBias);
            }
        }
    }

    /// <summary>Single-threaded: the block [i0,i1) × [j0,j1) of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blocked<TB>(int i0, int i1, int j0, int j1, int k, float* a, int lda, bool transA, TB packB,
        float* c, int ldc, bool accumulate, float* rowBias, float* colBias) where TB : struct, IPackB
    {
        if (k <= 0)
        {
            FillOnly(i0, i1, j0, j1, c, ldc, accumulate, rowBias, colBias);
            return;
        }
        int nr = GemmKernels.Nr;
        int kcMax = packB.SliceDepth(k);
        int ncMax = Math.Min(NC, RoundUp(j1 - j0, nr));
        int mcMax = Math.Min(MC, RoundUp(i1 - i0, GemmKernels.Mr));
        float* bufB = Scratch.Get(ScratchSlot.PackB, (long)kcMax * ncMax);
        float* bufA = Scratch.Get(ScratchSlot.PackA, (long)kcMax * mcMax);
        for (int jc = j0; jc < j1; jc += NC)
        {
            int nc = Math.Min(NC, j1 - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                float* panel = packB.Prepacked(pc, kc, jc);
                if (panel == null)
                {
                    packB.Pack(pc, kc, jc, nc, bufB);
                    panel = bufB;
                }
                bool first = pc == 0;
                for (int ic = i0; ic < i1; ic += MC)
                {
                    int mc = Math.Min(MC, i1 - ic);
                    PackA(a, lda, transA, ic, mc, pc, kc, bufA);
                    Macro(mc, nc, kc, bufA, panel, c + (long)ic * ldc + jc, ldc, accumulate || !first,
                        first && rowBias != null ? rowBias + ic : null, first && colBias != null ? colBias + jc : null);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FillOnly(int i0, int i1, int j0, int j1, float* c, int ldc, bool accumulate, float* rowBias, float* colBias)
    {
        for (int i = i0; i < i1; i++)
        {
            var row = new Span<float>(c + (long)i * ldc + j0, j1 - j0);
            if (!accumulate) row.Clear();
            if (rowBias != null) System.Numerics.Tensors.TensorPrimitives.Add(row, rowBias[i], row);
            if (colBias != null) System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(colBias + j0, j1 - j0), row);
        }
    }

    /// <summary>Sweeps one packed A block (mc × kc) against one packed B panel (kc × nc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Macro(int mc, int nc, int kc, float* bufA, float* bufB, float* c, int ldc, bool load, float* rowBias, float* colBias)
    {
        int mrW = GemmKernels.Mr, nrW = GemmKernels.Nr;
        for (int jr = 0; jr < nc; jr += nrW)
        {
            int nr = Math.Min(nrW, nc - jr);
            float* bp = bufB + (long)jr * kc;
            float* cb = colBias != null ? colBias + jr : null;
            for (int ir = 0; ir < mc; ir += mrW)
            {
                int rows = Math.Min(mrW, mc - ir);
                float* ap = bufA + (long)ir * kc;
                float* cp = c + (long)ir * ldc + jr;
                float* rb = rowBias != null ? rowBias + ir : null;
                if (nr == nrW)
                    GemmKernels.Tile(rows, kc, ap, bp, cp, ldc, load, rb, cb);
                else
                    NarrowTile(rows, nr, kc, ap, bp, cp, ldc, load, rb, cb);
            }
        }
    }

    /// <summary>A tile narrower than Nr: computed full width (B is zero-padded) into scratch, then merged column by column.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NarrowTile(int rows, int nr, int kc, float* ap, float* bp, float* cp, int ldc, bool load, float* rb, float* cb)
    {
        int nrW = GemmKernels.Nr;
        float* t = Scratch.Get(ScratchSlot.Tile, (long)GemmKernels.Mr * nrW);
        GemmKernels.Tile(rows, kc, ap, bp, t, nrW, false, null, null);
        for (int r = 0; r < rows; r++)
        {
            float add = rb != null ? rb[r] : 0f;
            float* dst = cp + (long)r * ldc;
            float* src = t + r * nrW;
            for (int j = 0; j < nr; j++)
            {
                float v = src[j] + add;
                if (cb != null) v += cb[j];
                dst[j] = load ? dst[j] + v : v;
            }
        }
    }

    /// <summary>
    /// Packs op(A)[i0.., p0..] (mc × kc) into Mr-high slivers: sliver s starts at s·Mr·kc and holds, for each k step,
    /// its rows' values contiguously (the last sliver is only as high as the rows left).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(float* a, int lda, bool transA, int i0, int mc, int p0, int kc, float* dst)
    {
        int mrW = GemmKernels.Mr;
        for (int ir = 0; ir < mc; ir += mrW)
        {
            int rows = Math.Min(mrW, mc - ir);
            float* d = dst + (long)ir * kc;
            if (transA)
            {
                // op(A)[i, p] = a[p·lda + i]: a k step is a contiguous run of a.
                float* s = a + (long)p0 * lda + i0 + ir;
                int p = 0;
                // A full vector per k step (all but the last): its spare lanes read on into a (still inside it, since
                // lda ≥ rows ≥ half a vector and a later row exists) and land on the next k step's slot, which that step
                // then overwrites; with rows ≥ half a vector the last such store ends inside this sliver.
                if (Vector512.IsHardwareAccelerated && rows >= 8)
                    for (; p < kc - 1; p++, s += lda, d += rows) Vector512.Store(Vector512.Load(s), d);
                else if (Vector256.IsHardwareAccelerated && !Vector512.IsHardwareAccelerated && rows >= 4)
                    for (; p < kc - 1; p++, s += lda, d += rows) Vector256.Store(Vector256.Load(s), d);
                for (; p < kc; p++, s += lda, d += rows)
                    for (int r = 0; r < rows; r++) d[r] = s[r];
            }
            else
                Transpose(a + (long)(i0 + ir) * lda + p0, lda, rows, kc, d, rows);
        }
    }

    /// <summary>dst[p·ldd + r] = src[r·lds + p] for r &lt; rows, p &lt; cols (pads the rows up to ldd with zeros).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(float* src, int lds, int rows, int cols, float* dst, int ldd)
    {
        int p = 0;
        if (Avx.IsSupported && rows >= 8)
        {
            // 8 × 8 blocks transposed in registers (the scalar scatter cost 16 stores per vector loaded); a row count that
            // is not a multiple of 8 ends with a block overlapping the previous one, rewriting the same values.
            for (; p + 8 <= cols; p += 8)
            {
                float* d = dst + (long)p * ldd;
                for (int r0 = 0; r0 < rows; r0 += 8)
                {
                    int r = Math.Min(r0, rows - 8);
                    float* s = src + (long)r * lds + p;
                    // The rows are a stride apart, too many streams for the hardware prefetcher: ask 4 lines ahead
                    // (measured 0.83 → 0.66 ns per value packing a 20195 × 1024 activation from DRAM).
                    if ((p & 15) == 0)
                        for (int i = 0; i < 8; i++) Sse.Prefetch0(s + (long)i * lds + 64);
                    Transpose8x8(s, lds, d + r, ldd);
                }
                for (int q = 0; q < 8; q++)
                    for (int r = rows; r < ldd; r++) d[q * ldd + r] = 0f;
            }
        }
        for (; p < cols; p++)
        {
            float* d = dst + (long)p * ldd;
            for (int r = 0; r < rows; r++) d[r] = src[(long)r * lds + p];
            for (int r = rows; r < ldd; r++) d[r] = 0f;
        }
    }

    /// <summary>d[q·ldd + i] = s[i·lds + q] for i, q &lt; 8: the unpack / shuffle / lane-permute transpose.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, long lds, float* d, int ldd)
    {
        var r0 = Avx.LoadVector256(s);
        var r1 = Avx.LoadVector256(s + lds);
        var r2 = Avx.LoadVector256(s + 2 * lds);
        var r3 = Avx.LoadVector256(s + 3 * lds);
        var r4 = Avx.LoadVector256(s + 4 * lds);
        var r5 = Avx.LoadVector256(s + 5 * lds);
        var r6 = Avx.LoadVector256(s + 6 * lds);
        var r7 = Avx.LoadVector256(s + 7 * lds);
        // Pairs of rows interleaved, then quads, then the 128-bit halves swapped into place.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Copies one packed row; a full sliver width (32 or 16) moves as two vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(float* s, float* d, int n)
    {
        if (Vector512.IsHardwareAccelerated && n == 32)
        {
            Vector512.Store(Vector512.Load(s), d);
            Vector512.Store(Vector512.Load(s + 16), d + 16);
        }
        else if (Vector256.IsHardwareAccelerated && n == 16)
        {
            Vector256.Store(Vector256.Load(s), d);
            Vector256.Store(Vector256.Load(s + 8), d + 8);
        }
        else
            Buffer.MemoryCopy(s, d, n * sizeof(float), n * sizeof(float));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CopyPadded(float* s, float* d, int n, int width)
    {
        for (int j = 0; j < n; j++) d[j] = s[j];
        for (int j = n; j < width; j++) d[j] = 0f;
    }

    public static int RoundUp(int x, int m) => (x + m - 1) / m * m;

    /// <summary>
    /// Depth of the K slices for a product of depth k (the last may be shallower): even slices (300 → 150 + 150 rather
    /// than 256 + 44), so that no slice is too thin to amortise its C traffic.
    /// </summary>
    public static int KSlice(int k) => EvenSlice(k, KC);

    /// <summary>The same for a weight (packed at load, or widened as it is packed): slices up to KCWeights deep.</summary>
    public static int WeightSlice(int k) => EvenSlice(k, KCWeights);

    private static int EvenSlice(int k, int most)
    {
        int slices = Math.Max(1, (k + most - 1) / most);
        return Math.Max(1, (k + slices - 1) / slices);
    }

    /// <summary>
    /// Packs a linear layer's weight w[n, k] (nn.Linear's [out, in]) as the B operand op(B) = wᵀ [k, n], whole, in the
    /// layout <see cref="PrepackedB"/> reads: k · RoundUp(n, Nr) floats.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PrepackWeight(float* w, int n, int k, float* dst)
    {
        int nPad = RoundUp(n, GemmKernels.Nr), kc = WeightSlice(k);
        var b = new DenseB(w, k, trans: true);
        for (int p0 = 0; p0 < k; p0 += kc)
            b.Pack(p0, Math.Min(kc, k - p0), 0, n, dst + (long)p0 * nPad);
    }
}
