namespace DepthSharp.Tensors.Kernels;

internal static partial class Fast
{
    /// <summary>
    /// <see cref="Attention"/> with an additive bias [H, Nq, Nk] shared by the batch (BEiT's relative positions). Same
    /// blocking: per (batch, head, query block) Sᵀ = K·(scale·Q)ᵀ, but the score block starts as the transposed bias and
    /// the GEMM accumulates onto it, so the bias costs one strided copy per block and no extra pass.
    /// </summary>
    public static void AttentionWithBias(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> bias,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
    {
        if (batch <= 0 || nq <= 0 || heads <= 0 || headDim <= 0) return;
        if (nk <= 0) throw new ArgumentException("attention needs at least one key", nameof(nk));
        long width = (long)heads * headDim;
        RequireLength(q.Length, batch * nq * width, nameof(q));
        RequireLength(k.Length, batch * nk * width, nameof(k));
        RequireLength(v.Length, batch * nk * width, nameof(v));
        RequireLength(bias.Length, (long)heads * nq * nk, nameof(bias));
        RequireLength(output.Length, batch * nq * width, nameof(output));
        int threads = KernelOptions.Threads;
        int pairs = batch * heads;
        int blocks = (nq + QueryBlock - 1) / QueryBlock;
        int splits = pairs >= threads ? 1 : Math.Min(blocks, (threads + pairs - 1) / pairs);
        unsafe
        {
            fixed (float* pq = q, pk = k, pv = v, pb = bias, po = output)
            {
                var job = new BiasedAttentionJob(pq, pk, pv, pb, po, nq, nk, heads, headDim, scale, splits, blocks);
                long flops = 4L * pairs * nq * nk * headDim;
                if (threads == 1 || pairs * splits == 1 || flops < 1L << 22)
                    for (int t = 0; t < pairs * splits; t++) job.Run(t);
                else
                    Parallel.For(0, pairs * splits, KernelOptions.Parallel, job.Run);
            }
        }
    }

    private sealed unsafe class BiasedAttentionJob(float* q, float* k, float* v, float* bias, float* output,
        int nq, int nk, int heads, int headDim, float scale, int splits, int blocks)
    {
        public void Run(int task)
        {
            int pair = task / splits, split = task % splits;
            int b = pair / heads, h = pair % heads, d = headDim, width = heads * headDim;
            int blk0 = (int)((long)blocks * split / splits), blk1 = (int)((long)blocks * (split + 1) / splits);
            float* kh = k + (long)b * nk * width + h * d;
            float* vh = v + (long)b * nk * width + h * d;
            float* bh = bias + (long)h * nq * nk;
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
                new DenseB(qh, width, true).Pack(0, d, 0, nt, packQ);
                var packedQ = new Span<float>(packQ, d * PackedGemm.RoundUp(nt, GemmKernels.Nr));
                System.Numerics.Tensors.TensorPrimitives.Multiply(packedQ, scale, packedQ);
                // Sᵀ[j, r] = bias[i0 + r, j], then += k_j · (scale · q_r).
                PackedGemm.Transpose(bh + (long)i0 * nk, nk, nt, nk, scores, nt);
                PackedGemm.Macro(nk, nt, d, packK, packQ, scores, nt, true, null, null);
                SoftmaxColumns(scores, nk, nt, inv);
                PackedGemm.PackA(scores, nt, true, 0, nt, 0, nk, packP);
                PackedGemm.Macro(nt, d, nk, packP, packV, oh, width, false, null, null);
                for (int r = 0; r < nt; r++)
                    System.Numerics.Tensors.TensorPrimitives.Multiply(new ReadOnlySpan<float>(oh + (long)r * width, d), inv[r],
                        new Span<float>(oh + (long)r * width, d));
            }
        }
    }

    /// <summary>Softplus in parallel chunks; each value as <see cref="Reference.SoftplusOf"/> (the transcendental dominates, not the loop).</summary>
    public static void Softplus(ReadOnlySpan<float> xs, Span<float> ys)
    {
        unsafe
        {
            fixed (float* px = xs, py = ys)
            {
                nint x = (nint)px, y = (nint)py;
                ParallelChunks(xs.Length, 1 << 14, (i0, i1) =>
                {
                    for (long i = i0; i < i1; i++) ((float*)y)[i] = Reference.SoftplusOf(((float*)x)[i]);
                });
            }
        }
    }
}
