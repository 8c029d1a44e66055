using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

// Swin V2's window operations: plain loops, then the fast versions.

namespace DepthSharp.Tensors.Kernels;

/// <summary>Plain loops for Swin-style windowed attention: the definitions the fast window kernels are tested against.</summary>
internal static partial class Reference
{
    /// <summary>
    /// x [B, H, W, C] → windows [B·(Hp/ws)·(Wp/ws), ws·ws, C] in three plain steps: zero padding on the right and bottom
    /// to Hp × Wp (whole windows), a cyclic shift by −<paramref name="shift"/> on both axes (padded[(y + s) mod Hp]), and
    /// the cut into ws × ws windows taken row of windows by row of windows.
    /// </summary>
    public static void WindowPartition(ReadOnlySpan<float> x, int batch, int height, int width, int channels, int window, int shift, Span<float> y)
    {
        int hp = (height + window - 1) / window * window, wp = (width + window - 1) / window * window;
        var padded = new float[(long)batch * hp * wp * channels];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++)
                    for (int c = 0; c < channels; c++)
                        padded[(((long)b * hp + i) * wp + j) * channels + c] = x[(((b * height) + i) * width + j) * channels + c];
        var rolled = new float[padded.Length];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < hp; i++)
                for (int j = 0; j < wp; j++)
                    for (int c = 0; c < channels; c++)
                        rolled[(((long)b * hp + i) * wp + j) * channels + c] =
                            padded[(((long)b * hp + (i + shift) % hp) * wp + (j + shift) % wp) * channels + c];
        int rows = hp / window, cols = wp / window;
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    for (int a = 0; a < window; a++)
                        for (int e = 0; e < window; e++)
                            for (int c = 0; c < channels; c++)
                                y[(int)(((((long)b * rows + r) * cols + q) * window * window + a * window + e) * channels + c)] =
                                    rolled[(((long)b * hp + r * window + a) * wp + q * window + e) * channels + c];
    }

    /// <summary>
    /// The inverse of <see cref="WindowPartition"/>: windows back into the padded Hp × Wp map, a cyclic shift by
    /// +<paramref name="shift"/>, and the map cropped to its first <paramref name="height"/> rows and <paramref name="width"/> columns.
    /// </summary>
    public static void WindowMerge(ReadOnlySpan<float> windows, int batch, int height, int width, int channels, int window, int shift, Span<float> y)
    {
        int hp = (height + window - 1) / window * window, wp = (width + window - 1) / window * window;
        int rows = hp / window, cols = wp / window;
        var map = new float[(long)batch * hp * wp * channels];
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    for (int a = 0; a < window; a++)
                        for (int e = 0; e < window; e++)
                            for (int c = 0; c < channels; c++)
                                map[(((long)b * hp + r * window + a) * wp + q * window + e) * channels + c] =
                                    windows[(int)(((((long)b * rows + r) * cols + q) * window * window + a * window + e) * channels + c)];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < height; i++)
                for (int j = 0; j < width; j++)
                    for (int c = 0; c < channels; c++)
                        y[(((b * height) + i) * width + j) * channels + c] =
                            map[(((long)b * hp + (i - shift + hp) % hp) * wp + (j - shift + wp) % wp) * channels + c];
    }

    /// <summary>
    /// Cosine attention inside windows, heads interleaved in the last dimension: q, k, v [windows, n, H·D]. For window w,
    /// head h, query i and key j the score is (q̂_i · k̂_j) · scales[h] + table[h, index[j·n + i]] (+ maskValue when
    /// regions[w mod R, i] ≠ regions[w mod R, j], R = regions.Length / n, if regions are given), where x̂ = x / max(‖x‖, 1e-12)
    /// over the head's D values; softmax over j; output = Σ_j p_j v_j.
    /// </summary>
    public static void WindowAttention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int windows, int n, int heads, int headDim, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> table, int entries, ReadOnlySpan<int> index,
        ReadOnlySpan<int> regions, float maskValue, Span<float> output)
    {
        int width = heads * headDim;
        int regionWindows = regions.IsEmpty ? 0 : regions.Length / n;
        var qn = new float[n * headDim];
        var kn = new float[n * headDim];
        var scores = new float[n];
        for (int w = 0; w < windows; w++)
            for (int h = 0; h < heads; h++)
            {
                Normalize(q, w, h, n, width, headDim, qn);
                Normalize(k, w, h, n, width, headDim, kn);
                for (int i = 0; i < n; i++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        float dot = 0;
                        for (int d = 0; d < headDim; d++) dot += qn[i * headDim + d] * kn[j * headDim + d];
                        scores[j] = dot * scales[h] + table[h * entries + index[j * n + i]];
                        if (regionWindows > 0)
                        {
                            int row = w % regionWindows * n;
                            if (regions[row + i] != regions[row + j]) scores[j] += maskValue;
                        }
                        max = MathF.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) { scores[j] = MathF.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += scores[j] * v[(w * n + j) * width + h * headDim + d];
                        output[(w * n + i) * width + h * headDim + d] = (float)(acc / sum);
                    }
                }
            }
    }

    /// <summary>Head h's rows of window w of x, each divided by max(its L2 norm, 1e-12) (F.normalize), into dst [n, D].</summary>
    private static void Normalize(ReadOnlySpan<float> x, int w, int h, int n, int width, int headDim, float[] dst)
    {
        for (int i = 0; i < n; i++)
        {
            int at = (w * n + i) * width + h * headDim;
            double ss = 0;
            for (int d = 0; d < headDim; d++) ss += (double)x[at + d] * x[at + d];
            float norm = MathF.Max((float)Math.Sqrt(ss), 1e-12f);
            for (int d = 0; d < headDim; d++) dst[i * headDim + d] = x[at + d] / norm;
        }
    }
}


internal static partial class Fast
{
    /// <summary>
    /// <see cref="Reference.WindowPartition"/> in one pass: each window row is copied from the map as runs of whole tokens
    /// (a run ends where the shifted columns wrap or reach the padding), and the padding is cleared.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WindowPartition(ReadOnlySpan<float> x, int batch, int height, int width, int channels, int window, int shift, Span<float> y)
    {
        int hp = (height + window - 1) / window * window, wp = (width + window - 1) / window * window;
        RequireLength(x.Length, (long)batch * height * width * channels, nameof(x));
        RequireLength(y.Length, (long)batch * hp * wp * channels, nameof(y));
        long at = 0;
        for (int b = 0; b < batch; b++)
            for (int r = 0; r < hp; r += window)
                for (int q = 0; q < wp; q += window)
                    for (int a = 0; a < window; a++)
                    {
                        int sy = (r + a + shift) % hp;
                        for (int e = 0; e < window;)
                        {
                            int sx = (q + e + shift) % wp;
                            int run = Math.Min(window - e, wp - sx);
                            var dst = y.Slice((int)at, run * channels);
                            if (sy >= height || sx >= width) dst.Clear();
                            else
                            {
                                run = Math.Min(run, width - sx);
                                dst = dst[..(run * channels)];
                                x.Slice(((b * height + sy) * width + sx) * channels, run * channels).CopyTo(dst);
                            }
                            at += (long)run * channels;
                            e += run;
                        }
                    }
    }

    /// <summary><see cref="Reference.WindowMerge"/> in one pass: each output row gathers runs of tokens from the windows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WindowMerge(ReadOnlySpan<float> windows, int batch, int height, int width, int channels, int window, int shift, Span<float> y)
    {
        int hp = (height + window - 1) / window * window, wp = (width + window - 1) / window * window;
        int cols = wp / window;
        RequireLength(windows.Length, (long)batch * hp * wp * channels, nameof(windows));
        RequireLength(y.Length, (long)batch * height * width * channels, nameof(y));
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < height; i++)
            {
                int ys = (i - shift + hp) % hp;
                long windowRow = (long)b * (hp / window) + ys / window;
                for (int j = 0; j < width;)
                {
                    int xs = (j - shift + wp) % wp;
                    int run = Math.Min(width - j, window - xs % window);
                    long token = ((windowRow * cols + xs / window) * window + ys % window) * window + xs % window;
                    windows.Slice((int)(token * channels), run * channels).CopyTo(y.Slice(((b * height + i) * width + j) * channels, run * channels));
                    j += run;
                }
            }
    }

    /// <summary>
    /// <see cref="Reference.WindowAttention"/> on the GEMM micro-kernels, as <see cref="AttentionWithBias"/> does it: tasks
    /// are (window, head, query range); each packs its keys (then divides each packed key by its norm) and values once,
    /// and per block of queries packs them scaled by the head's scale over their norms, starts the scores from the
    /// gathered bias (plus the mask where a pair's regions differ), accumulates the product onto them, and takes the
    /// softmax (negligible weights flushed to zero, <see cref="NegligibleScore"/>) and the product with V.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WindowAttention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int windows, int n, int heads, int headDim, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> table, int entries, ReadOnlySpan<int> index,
        ReadOnlySpan<int> regions, float maskValue, Span<float> output)
    {
        if (windows <= 0 || n <= 0 || heads <= 0 || headDim <= 0) return;
        long width = (long)heads * headDim;
        RequireLength(q.Length, windows * n * width, nameof(q));
        RequireLength(k.Length, windows * n * width, nameof(k));
        RequireLength(v.Length, windows * n * width, nameof(v));
        RequireLength(output.Length, windows * n * width, nameof(output));
        RequireLength(scales.Length, heads, nameof(scales));
        RequireLength(table.Length, (long)heads * entries, nameof(table));
        RequireLength(index.Length, (long)n * n, nameof(index));
        // The gather reads through raw pointers: every index must land in the table.
        if (TensorPrimitives.Min(index[..(n * n)]) < 0 || TensorPrimitives.Max(index[..(n * n)]) >= entries)
            throw new ArgumentException($"a bias index lies outside the table's {entries} entries", nameof(index));
        int regionWindows = regions.Length / n;
        if (regions.Length % n != 0 || (regionWindows > 0 && windows % regionWindows != 0))
            throw new ArgumentException($"{regions.Length} region labels are not whole windows of {n} tokens dividing {windows} windows", nameof(regions));
        int threads = KernelOptions.Threads;
        int pairs = windows * heads;
        int blocks = (n + QueryBlock - 1) / QueryBlock;
        int splits = pairs >= threads ? 1 : Math.Min(blocks, (threads + pairs - 1) / pairs);
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, ps = scales, pt = table, po = output)
            fixed (int* pi = index, pr = regions)
            {
                var job = new WindowAttentionJob(pq, pk, pv, ps, new GatheredBias(pt, entries, pi), pr, regionWindows, maskValue, po,
                    n, heads, headDim, splits, blocks);
                long flops = 4L * pairs * n * n * headDim;
                if (threads == 1 || pairs * splits == 1 || flops < 1L << 22)
                    for (int t = 0; t < pairs * splits; t++) job.Run(t);
                else
                    WorkerTeam.For(pairs * splits, job.Run);
            }
        }
    }

    private sealed unsafe class WindowAttentionJob(float* q, float* k, float* v, float* scales, GatheredBias bias,
        int* regions, int regionWindows, float maskValue, float* output, int n, int heads, int headDim, int splits, int blocks)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int pair = task / splits, split = task % splits;
            int w = pair / heads, h = pair % heads, d = headDim, width = heads * headDim;
            int blk0 = (int)((long)blocks * split / splits), blk1 = (int)((long)blocks * (split + 1) / splits);
            float* kh = k + (long)w * n * width + h * d;
            float* vh = v + (long)w * n * width + h * d;
            int* region = regionWindows > 0 ? regions + (long)(w % regionWindows) * n : null;
            // Windows inside one region (all but the last row and column of windows) need no mask.
            if (region != null && new ReadOnlySpan<int>(region, n).IndexOfAnyExcept(region[0]) < 0) region = null;
            // K as the A operand of Sᵀ = K̂·Q̂ᵀ, V as the B operand of O = P·V, packed once per task; the keys' inverse
            // norms sit after the packed keys.
            float* packK = Scratch.Get(ScratchSlot.AttnKeys, (long)n * d + n);
            float* invK = packK + (long)n * d;
            for (int j = 0; j < n; j++) invK[j] = InverseNorm(kh + (long)j * width, d);
            PackedGemm.PackA(kh, width, false, 0, n, 0, d, packK);
            ScalePackedRows(packK, n, d, invK);
            float* packV = Scratch.Get(ScratchSlot.AttnValues, (long)PackedGemm.RoundUp(d, GemmKernels.Nr) * n);
            new DenseB(vh, width, false).Pack(0, n, 0, d, packV);
            int panel = PackedGemm.RoundUp(QueryBlock, GemmKernels.Nr);
            float* packQ = Scratch.Get(ScratchSlot.AttnQuery, (long)panel * d + panel);
            float* factors = packQ + (long)panel * d;
            float* scores = Scratch.Get(ScratchSlot.AttnScores, (long)QueryBlock * n);
            float* packP = Scratch.Get(ScratchSlot.AttnProbs, (long)QueryBlock * n);
            float* inv = stackalloc float[QueryBlock];
            for (int blk = blk0; blk < blk1; blk++)
            {
                int i0 = blk * QueryBlock, nt = Math.Min(QueryBlock, n - i0);
                float* qh = q + ((long)w * n + i0) * width + h * d;
                float* oh = output + ((long)w * n + i0) * width + h * d;
                // Q̂ᵀ packed with each query column times scale / ‖q‖ (padding columns stay zero).
                new DenseB(qh, width, true).Pack(0, d, 0, nt, packQ);
                int padded = PackedGemm.RoundUp(nt, GemmKernels.Nr);
                for (int r = 0; r < padded; r++) factors[r] = r < nt ? scales[h] * InverseNorm(qh + (long)r * width, d) : 0f;
                ScalePackedColumns(packQ, padded, d, factors);
                bias.Fill(h, n, n, i0, nt, scores);
                if (region != null) AddMask(scores, region, n, i0, nt, maskValue);
                PackedGemm.Macro(n, nt, d, packK, packQ, scores, nt, true, null, null);
                SoftmaxColumnsFlushed(scores, n, nt, inv);
                PackedGemm.PackA(scores, nt, true, 0, nt, 0, n, packP);
                PackedGemm.Macro(nt, d, n, packP, packV, oh, width, false, null, null);
                for (int r = 0; r < nt; r++)
                    TensorPrimitives.Multiply(new ReadOnlySpan<float>(oh + (long)r * width, d), inv[r], new Span<float>(oh + (long)r * width, d));
            }
        }
    }

    /// <summary>
    /// Scores this far below their column's maximum get weight 0: e^−40 ≈ 4e−18 of the maximum's weight, so even 4096 such
    /// keys move a float sum by under 1e−13 of it. Cosines scaled by up to 100 and the mask spread scores by hundreds, and
    /// exp's smallest results (about 1e−38) times the values are denormal products that the GEMM takes ~100× longer over.
    /// </summary>
    private const float NegligibleScore = -40f;

    /// <summary>
    /// <see cref="SoftmaxColumns"/> with weights of scores more than 40 below their column's maximum set to 0
    /// (<see cref="NegligibleScore"/>): s[j, r] ← exp(s[j, r] − max_j s[j, r]) or 0, inv[r] ← 1 / Σ_j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void SoftmaxColumnsFlushed(float* s, int nk, int nt, float* inv)
    {
        float* max = stackalloc float[QueryBlock];
        float* sum = stackalloc float[QueryBlock];
        for (int r = 0; r < nt; r++) { max[r] = float.NegativeInfinity; sum[r] = 0f; }
        var (v16, v8) = ColumnMax(s, nk, nt, max);
        for (int j = 0; j < nk; j++)
        {
            float* row = s + (long)j * nt;
            for (int r = 0; r < v16; r += 16)
            {
                var x = Vector512.Load(row + r) - Vector512.Load(max + r);
                var e = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(NegligibleScore)), VecMath.Exp(x), Vector512<float>.Zero);
                Vector512.Store(e, row + r);
                Vector512.Store(Vector512.Load(sum + r) + e, sum + r);
            }
            for (int r = v16; r < v8; r += 8)
            {
                var x = Vector256.Load(row + r) - Vector256.Load(max + r);
                var e = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256.Create(NegligibleScore)), VecMath.Exp(x), Vector256<float>.Zero);
                Vector256.Store(e, row + r);
                Vector256.Store(Vector256.Load(sum + r) + e, sum + r);
            }
            for (int r = v8; r < nt; r++)
            {
                float x = row[r] - max[r];
                row[r] = x >= NegligibleScore ? MathF.Exp(x) : 0f;
                sum[r] += row[r];
            }
        }
        for (int r = 0; r < nt; r++) inv[r] = 1f / sum[r];
    }

    /// <summary>1 / max(‖x‖, 1e-12) over d values: F.normalize's divisor, inverted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float InverseNorm(float* x, int d) => 1f / MathF.Max(TensorPrimitives.Norm(new ReadOnlySpan<float>(x, d)), 1e-12f);

    /// <summary>Multiplies row i of an A operand packed by <see cref="PackedGemm.PackA"/> (m × kc) by factors[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScalePackedRows(float* packed, int m, int kc, float* factors)
    {
        int mr = GemmKernels.Mr;
        for (int ir = 0; ir < m; ir += mr)
        {
            int rows = Math.Min(mr, m - ir);
            float* s = packed + (long)ir * kc;
            float* f = factors + ir;
            for (int p = 0; p < kc; p++, s += rows)
                for (int r = 0; r < rows; r++) s[r] *= f[r];
        }
    }

    /// <summary>Multiplies column j of a B operand packed in Nr-wide slivers (kc × nPadded) by factors[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScalePackedColumns(float* packed, int nPadded, int kc, float* factors)
    {
        int nr = GemmKernels.Nr;
        for (int jr = 0; jr < nPadded; jr += nr)
        {
            var f = new ReadOnlySpan<float>(factors + jr, nr);
            float* s = packed + (long)jr * kc;
            for (int p = 0; p < kc; p++, s += nr) TensorPrimitives.Multiply(new ReadOnlySpan<float>(s, nr), f, new Span<float>(s, nr));
        }
    }

    /// <summary>sᵀ[j, r] += maskValue where key j's region differs from query i0 + r's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddMask(float* scores, int* region, int n, int i0, int nt, float maskValue)
    {
        for (int j = 0; j < n; j++)
        {
            float* s = scores + (long)j * nt;
            int rj = region[j];
            for (int r = 0; r < nt; r++)
                if (region[i0 + r] != rj) s[r] += maskValue;
        }
    }
}
