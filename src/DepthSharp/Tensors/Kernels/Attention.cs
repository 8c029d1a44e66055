using System.Runtime.CompilerServices;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

internal static partial class Reference
{
    /// <summary>
    /// Multi-head scaled dot-product attention, heads interleaved in the last dimension:
    /// q[B,Nq,H·D], k,v[B,Nk,H·D] → out[B,Nq,H·D], out_h = softmax(q_h k_hᵀ · scale) v_h.
    /// </summary>
    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
    {
        int width = heads * headDim;
        var scores = new float[nk];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < nq; i++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < nk; j++)
                    {
                        float dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += q[(b * nq + i) * width + h * headDim + d] * k[(b * nk + j) * width + h * headDim + d];
                        scores[j] = dot * scale;
                        max = MathF.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < nk; j++) { scores[j] = MathF.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < nk; j++) acc += scores[j] * v[(b * nk + j) * width + h * headDim + d];
                        output[(b * nq + i) * width + h * headDim + d] = (float)(acc / sum);
                    }
                }
    }

    /// <summary>
    /// <see cref="Attention"/> with an additive bias before the softmax, shared by every batch element:
    /// out_h = softmax(q_h k_hᵀ · scale + bias_h) v_h, where bias_h[i, j] = table[h·entries + index[j·nq + i]]
    /// (a relative position table [H, entries] and a key-major [Nk, Nq] index into it).
    /// </summary>
    public static void AttentionWithBias(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> table, int entries, ReadOnlySpan<int> index,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
    {
        int width = heads * headDim;
        var scores = new float[nk];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < nq; i++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < nk; j++)
                    {
                        float dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += q[(b * nq + i) * width + h * headDim + d] * k[(b * nk + j) * width + h * headDim + d];
                        scores[j] = dot * scale + table[h * entries + index[j * nq + i]];
                        max = MathF.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < nk; j++) { scores[j] = MathF.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < nk; j++) acc += scores[j] * v[(b * nk + j) * width + h * headDim + d];
                        output[(b * nq + i) * width + h * headDim + d] = (float)(acc / sum);
                    }
                }
    }
}

internal static partial class Fast
{
    /// <summary>Query rows per block: a multiple of the GEMM tile width, and Sᵀ (Nk × 64) stays in L2 for Nk up to ~1000.</summary>
    private const int QueryBlock = 64;

    /// <summary>
    /// Multi-head attention without the [B,H,Nq,Nk] matrix. Tasks are (batch, head, query range); each packs its head's K and
    /// V once, then per block of queries computes Sᵀ = K·Qᵀ (Nk × block, so the softmax runs down columns with full-width
    /// vectors), exponentiates in place, and multiplies by V with the GEMM micro-kernels; rows are divided by their sums last.
    /// </summary>
    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output) =>
        AttentionWithBias(q, k, v, default, 0, default, batch, nq, nk, heads, headDim, scale, output);

    /// <summary>
    /// <see cref="Attention"/> with an optional relative position bias gathered from a small table, shared by the batch:
    /// bias[h, i, j] = table[h·entries + index[j·nq + i]] (the index key-major, empty table for none). The score block
    /// starts as the gathered bias and the GEMM accumulates onto it, so the [H, Nq, Nk] bias is never made.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AttentionWithBias(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> table, int entries, ReadOnlySpan<int> index,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
    {
        if (batch <= 0 || nq <= 0 || heads <= 0 || headDim <= 0) return;
        if (nk <= 0) throw new ArgumentException("attention needs at least one key", nameof(nk));
        long width = (long)heads * headDim;
        RequireLength(q.Length, batch * nq * width, nameof(q));
        RequireLength(k.Length, batch * nk * width, nameof(k));
        RequireLength(v.Length, batch * nk * width, nameof(v));
        if (!table.IsEmpty)
        {
            RequireLength(table.Length, (long)heads * entries, nameof(table));
            RequireLength(index.Length, (long)nq * nk, nameof(index));
            // The gather reads through raw pointers: every index must land in the table.
            if (TensorPrimitives.Min(index) < 0 || TensorPrimitives.Max(index) >= entries)
                throw new ArgumentException($"a bias index lies outside the table's {entries} entries", nameof(index));
        }
        RequireLength(output.Length, batch * nq * width, nameof(output));
        int threads = KernelOptions.Threads;
        int pairs = batch * heads;
        // Split the queries too when there are fewer (batch, head) pairs than threads; each split repacks K and V.
        int blocks = (nq + QueryBlock - 1) / QueryBlock;
        int splits = pairs >= threads ? 1 : Math.Min(blocks, (threads + pairs - 1) / pairs);
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, pt = table, po = output)
            fixed (int* pi = index)
            {
                var bias = table.IsEmpty ? default : new GatheredBias(pt, entries, pi);
                var job = new AttentionJob(pq, pk, pv, bias, po, nq, nk, heads, headDim, scale, splits, blocks);
                long flops = 4L * pairs * nq * nk * headDim;
                if (threads == 1 || pairs * splits == 1 || flops < 1L << 22)
                    for (int t = 0; t < pairs * splits; t++) job.Run(t);
                else
                    WorkerTeam.For(pairs * splits, job.Run);
            }
        }
    }

    /// <summary>A bias table [heads, entries] and the key-major [nk, nq] index into each head's row.</summary>
    private readonly unsafe struct GatheredBias(float* table, int entries, int* index)
    {
        public bool IsEmpty => table == null;

        /// <summary>sᵀ[j, r] = table[h, index[j, i0 + r]] for the block's nt queries, one key row at a time.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Fill(int h, int nq, int nk, int i0, int nt, float* scores)
        {
            float* row = table + (long)h * entries;
            for (int j = 0; j < nk; j++)
            {
                int* ix = index + (long)j * nq + i0;
                float* s = scores + (long)j * nt;
                int r = 0;
                // Queries along an image row read consecutive entries: such runs are plain loads, the rest gathers.
                if (Vector512.IsHardwareAccelerated && Avx2.IsSupported)
                    for (; r + 16 <= nt; r += 16)
                    {
                        int first = ix[r];
                        if (Vector512.EqualsAll(Vector512.Load(ix + r), Vector512.Create(first) + Vector512<int>.Indices))
                            Vector512.Store(Vector512.Load(row + first), s + r);
                        else
                        {
                            Vector256.Store(Avx2.GatherVector256(row, Vector256.Load(ix + r), sizeof(float)), s + r);
                            Vector256.Store(Avx2.GatherVector256(row, Vector256.Load(ix + r + 8), sizeof(float)), s + r + 8);
                        }
                    }
                for (; r < nt; r++) s[r] = row[ix[r]];
            }
        }
    }

    private sealed unsafe class AttentionJob(float* q, float* k, float* v, GatheredBias bias, float* output,
        int nq, int nk, int heads, int headDim, float scale, int splits, int blocks)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int pair = task / splits, split = task % splits;
            int b = pair / heads, h = pair % heads, d = headDim, width = heads * headDim;
            int blk0 = (int)((long)blocks * split / splits), blk1 = (int)((long)blocks * (split + 1) / splits);
            float* kh = k + (long)b * nk * width + h * d;
            float* vh = v + (long)b * nk * width + h * d;
            // K as the A operand of Sᵀ = K·Qᵀ (Nk × D), V as the B operand of O = P·V (Nk × D): packed once per task.
            float* packK = Scratch.Get(ScratchSlot.AttnKeys, (long)nk * d);
            PackedGemm.PackA(kh, width, false, 0, nk, 0, d, packK);
            float* packV = Scratch.Get(ScratchSlot.AttnValues, (long)PackedGemm.RoundUp(d, GemmKernels.Nr) * nk);
            new DenseB(vh, width, false).Pack(0, nk, 0, d, packV);
            float* packQ = Scratch.Get(ScratchSlot.AttnQuery, (long)PackedGemm.RoundUp(QueryBlock, GemmKernels.Nr) * d);
            float* scores = Scratch.Get(ScratchSlot.AttnScores, (long)QueryBlock * nk);
            float* packP = Scratch.Get(ScratchSlot.AttnProbs, (long)QueryBlock * nk);
            float* inv = stackalloc float[QueryBlock];
            for (int blk = blk0; blk < blk1; blk++)
            {
                int i0 = blk * QueryBlock, nt = Math.Min(QueryBlock, nq - i0);
                float* qh = q + ((long)b * nq + i0) * width + h * d;
                float* oh = output + ((long)b * nq + i0) * width + h * d;
                // Sᵀ[j, r] = k_j · (scale · q_r), then softmax down each column r; the scale rides on the small packed Q.
                new DenseB(qh, width, true).Pack(0, d, 0, nt, packQ);
                var packedQ = new Span<float>(packQ, d * PackedGemm.RoundUp(nt, GemmKernels.Nr));
                System.Numerics.Tensors.TensorPrimitives.Multiply(packedQ, scale, packedQ);
                // With a bias: Sᵀ[j, r] = bias[h, i0 + r, j] first, and the product accumulates onto it.
                if (!bias.IsEmpty) bias.Fill(h, nq, nk, i0, nt, scores);
                PackedGemm.Macro(nk, nt, d, packK, packQ, scores, nt, !bias.IsEmpty, null, null);
                // O = P·V with P = (Sᵀ)ᵀ as the A operand: a full block's softmax writes it packed, others pack it after.
                if (nt == QueryBlock && SoftmaxPacksP)
                    SoftmaxColumns64Packed(scores, nk, packP, inv);
                else
                {
                    SoftmaxColumns(scores, nk, nt, inv);
                    PackedGemm.PackA(scores, nt, true, 0, nt, 0, nk, packP);
                }
                PackedGemm.Macro(nt, d, nk, packP, packV, oh, width, false, null, null);
                for (int r = 0; r < nt; r++)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(new ReadOnlySpan<float>(oh + (long)r * width, d), inv[r],
                        new Span<float>(oh + (long)r * width, d));
            }
        }
    }

    /// <summary>max[r] ← max(max[r], max_j s[j, r]) over the nk × nt scores; returns the ends of the 16- and 8-wide column blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe (int V16, int V8) ColumnMax(float* s, int nk, int nt, float* max)
    {
        int v16 = Vector512.IsHardwareAccelerated ? nt & ~15 : 0;
        int v8 = Vector256.IsHardwareAccelerated ? v16 + ((nt - v16) & ~7) : v16;
        for (int j = 0; j < nk; j++)
        {
            float* row = s + (long)j * nt;
            for (int r = 0; r < v16; r += 16)
                Vector512.Store(Vector512.Max(Vector512.Load(row + r), Vector512.Load(max + r)), max + r);
            for (int r = v16; r < v8; r += 8)
                Vector256.Store(Vector256.Max(Vector256.Load(row + r), Vector256.Load(max + r)), max + r);
            for (int r = v8; r < nt; r++) max[r] = MathF.Max(max[r], row[r]);
        }
        return (v16, v8);
    }

    /// <summary>s[j, r] ← exp(s[j, r] − max_j s[j, r]), inv[r] ← 1 / Σ_j; s is nk × nt row-major (already scaled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void SoftmaxColumns(float* s, int nk, int nt, float* inv)
    {
        float* max = stackalloc float[QueryBlock];
        float* sum = stackalloc float[QueryBlock];
        for (int r = 0; r < nt; r++) { max[r] = float.NegativeInfinity; sum[r] = 0f; }
        // Columns in whole vectors, then the rest one by one.
        var (v16, v8) = ColumnMax(s, nk, nt, max);
        for (int j = 0; j < nk; j++)
        {
            float* row = s + (long)j * nt;
            for (int r = 0; r < v16; r += 16)
            {
                var e = VecMath.Exp(Vector512.Load(row + r) - Vector512.Load(max + r));
                Vector512.Store(e, row + r);
                Vector512.Store(Vector512.Load(sum + r) + e, sum + r);
            }
            for (int r = v16; r < v8; r += 8)
            {
                var e = VecMath.Exp(Vector256.Load(row + r) - Vector256.Load(max + r));
                Vector256.Store(e, row + r);
                Vector256.Store(Vector256.Load(sum + r) + e, sum + r);
            }
            for (int r = v8; r < nt; r++) { row[r] = MathF.Exp(row[r] - max[r]); sum[r] += row[r]; }
        }
        for (int r = 0; r < nt; r++) inv[r] = 1f / sum[r];
    }

    /// <summary>Whether <see cref="SoftmaxColumns64Packed"/> fits the micro-kernel: AVX-512 and 14-row A slivers.</summary>
    private static readonly bool SoftmaxPacksP = Avx512F.IsSupported && Vector512.IsHardwareAccelerated && GemmKernels.Mr == 14;

    /// <summary>
    /// The softmax of a full 64-query block (as <see cref="SoftmaxColumns"/>, with the maxima and sums held in registers)
    /// written straight into the packed A layout of P = (Sᵀ)ᵀ that the 14-row micro-kernel reads: slivers of queries
    /// 0–13, 14–27, 28–41, 42–55 and 56–63, each holding its rows' values key after key. It spares the scores a write and
    /// a second packing pass; inv[r] ← 1 / Σ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void SoftmaxColumns64Packed(float* s, int nk, float* packP, float* inv)
    {
        ColumnMax64(s, nk, out var m0, out var m1, out var m2, out var m3);
        // Lanes of (lower, upper) vector pairs that make slivers 1–3: queries 14–29, 28–43 and 42–57 (14 kept of each).
        var take1 = Vector512.Create(14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
        var take2 = Vector512.Create(12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27);
        var take3 = Vector512.Create(10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25);
        float* p0 = packP, p1 = packP + 14L * nk, p2 = packP + 28L * nk, p3 = packP + 42L * nk, p4 = packP + 56L * nk;
        float* last = stackalloc float[64];
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int j = 0; j < nk; j++)
        {
            float* row = s + (long)j * 64;
            var e0 = VecMath.Exp(Vector512.Load(row) - m0);
            var e1 = VecMath.Exp(Vector512.Load(row + 16) - m1);
            var e2 = VecMath.Exp(Vector512.Load(row + 32) - m2);
            var e3 = VecMath.Exp(Vector512.Load(row + 48) - m3);
            s0 += e0; s1 += e1; s2 += e2; s3 += e3;
            var v1 = Avx512F.PermuteVar16x32x2(e0, take1, e1);
            var v2 = Avx512F.PermuteVar16x32x2(e1, take2, e2);
            var v3 = Avx512F.PermuteVar16x32x2(e2, take3, e3);
            long at = (long)j * 14;
            if (j < nk - 1)
            {
                // Whole vectors: the two spare lanes land on the next key's slot, which the next key then overwrites.
                Vector512.Store(e0, p0 + at);
                Vector512.Store(v1, p1 + at);
                Vector512.Store(v2, p2 + at);
                Vector512.Store(v3, p3 + at);
            }
            else
            {
                // The last key's spare lanes would run into the next sliver: exactly 14 values each.
                Vector512.Store(e0, last);
                Vector512.Store(v1, last + 16);
                Vector512.Store(v2, last + 32);
                Vector512.Store(v3, last + 48);
                new ReadOnlySpan<float>(last, 14).CopyTo(new Span<float>(p0 + at, 14));
                new ReadOnlySpan<float>(last + 16, 14).CopyTo(new Span<float>(p1 + at, 14));
                new ReadOnlySpan<float>(last + 32, 14).CopyTo(new Span<float>(p2 + at, 14));
                new ReadOnlySpan<float>(last + 48, 14).CopyTo(new Span<float>(p3 + at, 14));
            }
            Vector256.Store(e3.GetUpper(), p4 + (long)j * 8);
        }
        float* sum = last;
        Vector512.Store(s0, sum);
        Vector512.Store(s1, sum + 16);
        Vector512.Store(s2, sum + 32);
        Vector512.Store(s3, sum + 48);
        for (int r = 0; r < 64; r++) inv[r] = 1f / sum[r];
    }

    /// <summary>The maxima of a 64-column block's columns over its nk rows, as four vectors held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ColumnMax64(float* s, int nk, out Vector512<float> m0, out Vector512<float> m1,
        out Vector512<float> m2, out Vector512<float> m3)
    {
        m0 = m1 = m2 = m3 = Vector512.Create(float.NegativeInfinity);
        for (int j = 0; j < nk; j++)
        {
            float* row = s + (long)j * 64;
            m0 = Vector512.Max(Vector512.Load(row), m0);
            m1 = Vector512.Max(Vector512.Load(row + 16), m1);
            m2 = Vector512.Max(Vector512.Load(row + 32), m2);
            m3 = Vector512.Max(Vector512.Load(row + 48), m3);
        }
    }
}
