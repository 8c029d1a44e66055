using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

// Kernels with loops are compiled fully optimised at their first call (AggressiveOptimization): as tier-0 code they
// ran up to 2× slower through a model's first forward passes, until tiering caught up.

namespace DepthSharp.Tensors.Kernels;

/// <summary>
/// 3×3, stride 1, padding 1 convolution by Winograd F(4×4, 3×3): each 4×4 output tile comes from a 6×6 input tile,
/// Y = Aᵀ [Σ_c U_c ⊙ V_c] A with U = G g Gᵀ (weights) and V = Bᵀ d B (input), so the 36 positions ξ of the 6×6 domain
/// are 36 independent GEMMs M_ξ[O, T] = U_ξ[O, C] · V_ξ[C, T]: 36 multiplies per 16 outputs instead of 144.
/// Tiles are taken a block at a time (the transformed input and output of one block stay in cache); threads split the
/// blocks. The transforms put 16 tiles of one tile row along the vector lanes; they use AVX-512 permutes and masked
/// stores, so the path exists only where AVX-512 does.
/// </summary>
[SkipLocalsInit] // the stack buffers are always written before they are read; zeroing them per tile group was measurable
internal static unsafe class Winograd
{
    /// <summary>
    /// Tiles per block: V and M are 36·C·T and 36·O·T floats (2.4 MiB each at 256 channels, L2/L3). In A/B runs 64 was as
    /// fast as 32 or faster (up to 15% at 256 → 256 on 192²) and 5–10% ahead of 128.
    /// </summary>
    public const int TileBlock = 64;

    /// <summary>The transforms need AVX-512 permutes and masked loads and stores.</summary>
    public static bool IsSupported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>y (+)= conv3×3(x or relu(x)) + bias, stride 1, padding 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Conv3x3(ConvShape s, float* x, float* w, float* bias, float* y, bool reluInput = false, bool accumulate = false)
    {
        int c = s.InChannels, o = s.OutChannels;
        int kcMax = PackedGemm.KSlice(c);
        float* u = Scratch.Get(ScratchSlot.WinogradWeights, 36L * o * c);
        int tiles = Tiles(s);
        int blocksPerImage = (tiles + TileBlock - 1) / TileBlock;
        int blocks = s.Batch * blocksPerImage;
        var job = new Job(s, x, w, u, bias, y, kcMax, blocksPerImage, reluInput, accumulate);
        int threads = KernelOptions.Threads;
        if (blocks == 1 || threads == 1)
        {
            TransformWeights(w, o, c, kcMax, 0, Slivers(o), u);
            for (int i = 0; i < blocks; i++) job.Run(i);
        }
        else
        {
            // The weights are transformed on every call, split by output row sliver: a cached U would keep 36·O·C floats
            // (4× the layer's weights) per layer alive. The transform costs ~2% of the call at 192², 5% at 64 channels
            // on 74², but a quarter at 256 channels on 37².
            int parts = Math.Min(threads, Slivers(o));
            WorkerTeam.For(parts, p => job.Weights(p, parts));
            WorkerTeam.For(blocks, job.Run);
        }
    }

    /// <summary>
    /// Floats from one ξ's matrix to the next in V and M: a 64-byte line more than the matrix, so the 36 lines a transform
    /// touches per group fall in different cache sets instead of one (the bare size is a multiple of 4 KiB). The last
    /// matrix also gets the whole vector the output transform reads past its last row.
    /// </summary>
    private static long XiStride(int channels, int tpad) => (long)channels * tpad + 16;

    private static int Slivers(int outC) => (outC + GemmKernels.Mr - 1) / GemmKernels.Mr;

    private static int TilesH(ConvShape s) => (s.InH + 3) / 4;
    private static int TilesW(ConvShape s) => (s.InW + 3) / 4;

    /// <summary>4×4 output tiles per image.</summary>
    public static int Tiles(ConvShape s) => TilesH(s) * TilesW(s);

    /// <summary>
    /// U_ξ = (G g Gᵀ)[ξ] for the row slivers [s0, s1), written straight into PackedGemm.PackA's layout so the GEMM never
    /// packs A: per ξ and K slice [pc, pc+kc), Mr-high slivers of output channels holding their rows' values per channel
    /// (the last sliver only as high as the rows left). 16 channels of one sliver go through a small buffer first, so each
    /// ξ receives one contiguous run instead of 36 interleaved streams 36·O·C apart (which thrashed the cache sets).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeights(float* w, int outC, int inC, int kcMax, int s0, int s1, float* u)
    {
        const int Chunk = 16;
        int mr = GemmKernels.Mr;
        long xiStride = (long)outC * inC;
        float* t = stackalloc float[18];
        float* buf = stackalloc float[36 * Chunk * mr];
        for (int ir = s0 * mr; ir < Math.Min(outC, s1 * mr); ir += mr)
        {
            int rows = Math.Min(mr, outC - ir);
            for (int pc = 0; pc < inC; pc += kcMax)
            {
                int kc = Math.Min(kcMax, inC - pc);
                for (int c0 = pc; c0 < pc + kc; c0 += Chunk)
                {
                    int nc = Math.Min(Chunk, pc + kc - c0);
                    int run = nc * rows;
                    for (int c = c0; c < c0 + nc; c++)
                        for (int o = ir; o < ir + rows; o++)
                        {
                            float* g = w + ((long)o * inC + c) * 9;
                            // t = G g (6×3), then U = t Gᵀ (6×6), ξ-major in the buffer.
                            for (int k = 0; k < 3; k++) G(g[k], g[3 + k], g[6 + k], t + k, 3);
                            float* d = buf + (c - c0) * rows + (o - ir);
                            for (int r = 0; r < 6; r++) G(t[3 * r], t[3 * r + 1], t[3 * r + 2], d + 6 * r * run, run);
                        }
                    float* dst = u + (long)pc * outC + (long)ir * kc + (long)(c0 - pc) * rows;
                    for (int xi = 0; xi < 36; xi++)
                        Buffer.MemoryCopy(buf + xi * run, dst + xi * xiStride, run * sizeof(float), run * sizeof(float));
                }
            }
        }
    }

    /// <summary>G (g0, g1, g2)ᵀ for F(4, 3): rows (1/4, 0, 0), (−1/6, −1/6, −1/6), (−1/6, 1/6, −1/6), (1/24, 1/12, 1/6), (1/24, −1/12, 1/6), (0, 0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void G(float g0, float g1, float g2, float* d, long stride)
    {
        float s = g0 + g2, q = g0 * (1f / 24) + g2 * (1f / 6), h = g1 * (1f / 12);
        d[0] = g0 * 0.25f;
        d[stride] = (s + g1) * (-1f / 6);
        d[2 * stride] = (s - g1) * (-1f / 6);
        d[3 * stride] = q + h;
        d[4 * stride] = q - h;
        d[5 * stride] = g2;
    }

    /// <summary>One block of tiles of one image: input transform, 36 GEMMs, output transform.</summary>
    private sealed class Job(ConvShape s, float* x, float* w, float* u, float* bias, float* y, int kcMax, int blocksPerImage,
        bool relu, bool accumulate)
    {
        public void Weights(int part, int parts)
        {
            int slivers = Slivers(s.OutChannels);
            TransformWeights(w, s.OutChannels, s.InChannels, kcMax, (int)((long)slivers * part / parts),
                (int)((long)slivers * (part + 1) / parts), u);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int block)
        {
            int b = block / blocksPerImage, t0 = block % blocksPerImage * TileBlock;
            int tiles = Tiles(s), n = Math.Min(TileBlock, tiles - t0);
            int inC = s.InChannels, outC = s.OutChannels, nr = GemmKernels.Nr;
            int tpad = PackedGemm.RoundUp(n, nr);
            long vStride = XiStride(inC, tpad), mStride = XiStride(outC, tpad);
            float* v = Scratch.Get(ScratchSlot.WinogradInput, 36 * vStride);
            float* m = Scratch.Get(ScratchSlot.WinogradOutput, 36 * mStride);
            InputTransform(x + (long)b * inC * s.InH * s.InW, t0, n, tpad, vStride, v);
            for (int xi = 0; xi < 36; xi++)
                for (int pc = 0; pc < inC; pc += kcMax)
                {
                    int kc = Math.Min(kcMax, inC - pc);
                    float* a = u + (long)xi * outC * inC + (long)pc * outC;
                    float* bp = v + xi * vStride + (long)pc * tpad;
                    float* c = m + xi * mStride;
                    for (int ic = 0; ic < outC; ic += PackedGemm.MC)
                        PackedGemm.Macro(Math.Min(PackedGemm.MC, outC - ic), tpad, kc, a + (long)ic * kc, bp,
                            c + (long)ic * tpad, tpad, pc > 0, null, null);
                }
            OutputTransform(m, t0, n, tpad, mStride, y + (long)b * outC * s.InH * s.InW);
        }

        /// <summary>
        /// V for tiles [t0, t0+n) of one image, in the GEMM's packed-B layout: per ξ and K slice, Nr-wide slivers of
        /// tiles holding Nr values per channel. Per channel and tile row, Bᵀ is applied along y over whole rows
        /// (contiguous vectors) into a strip, then along x for 16 tiles at a time after deinterleaving the strip.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void InputTransform(float* xb, int t0, int n, int tpad, long xiStride, float* v)
        {
            int h = s.InH, w = s.InW, tw = TilesW(s), inC = s.InChannels, nr = GemmKernels.Nr;
            // A strip row covers up to TileBlock tiles (4 columns each + 2 overlap) and the deinterleave's over-read.
            int sw = 4 * Math.Min(tw, TileBlock) + 96;
            float* strip = Scratch.Get(ScratchSlot.WinogradStrip, 6L * sw + w + 16);
            float* zero = strip + 6 * sw;
            new Span<float>(zero, w).Clear();
            float** rows = stackalloc float*[6];
            for (int c = 0; c < inC; c++)
            {
                float* plane = xb + (long)c * h * w;
                int pc = c / kcMax * kcMax, kc = Math.Min(kcMax, inC - pc);
                float* vc = v + (long)pc * tpad + (long)(c - pc) * nr;
                for (int t = t0; t < t0 + n;)
                {
                    int ty = t / tw, txa = t % tw, txb = Math.Min(tw, txa + t0 + n - t);
                    for (int r = 0; r < 6; r++)
                    {
                        int iy = 4 * ty - 1 + r;
                        rows[r] = (uint)iy < (uint)h ? plane + (long)iy * w : zero;
                    }
                    StripY(rows, 4 * txa - 1, 4 * (txb - txa) + 2, w, strip, sw, relu);
                    for (int tx = txa; tx < txb; tx += 16)
                    {
                        int lanes = Math.Min(16, txb - tx), tb = t - t0 + tx - txa;
                        float* dst = vc + (long)(tb / nr) * nr * kc + tb % nr;
                        // A group crossing into the next sliver continues at that sliver's start.
                        int first = Math.Min(lanes, nr - tb % nr);
                        var m1 = LaneMask(0, first);
                        var m2 = LaneMask(first, lanes);
                        long jump = (long)nr * kc - nr;
                        TileX(strip + 4 * (tx - txa), sw, dst, xiStride, m1, dst + jump, m2, first < lanes);
                    }
                    t += txb - txa;
                }
            }
        }

        /// <summary>strip[r][q] = (Bᵀ d)[r] at input column x0 + q for q &lt; count, d being the six rows (zeros off the image).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void StripY(float** rows, int x0, int count, int w, float* strip, int sw, bool relu)
        {
            for (int q = 0; q < count; q += 16)
            {
                int x = x0 + q;
                Vector512<float> d0, d1, d2, d3, d4, d5;
                if (x >= 0 && x + 16 <= w)
                {
                    d0 = Vector512.Load(rows[0] + x); d1 = Vector512.Load(rows[1] + x); d2 = Vector512.Load(rows[2] + x);
                    d3 = Vector512.Load(rows[3] + x); d4 = Vector512.Load(rows[4] + x); d5 = Vector512.Load(rows[5] + x);
                }
                else
                {
                    // Columns off the image are the zero padding; masked lanes are neither read nor faulted on.
                    var mask = LaneMask(-x, w - x);
                    var z = Vector512<float>.Zero;
                    d0 = Avx512F.MaskLoad(rows[0] + x, mask, z); d1 = Avx512F.MaskLoad(rows[1] + x, mask, z);
                    d2 = Avx512F.MaskLoad(rows[2] + x, mask, z); d3 = Avx512F.MaskLoad(rows[3] + x, mask, z);
                    d4 = Avx512F.MaskLoad(rows[4] + x, mask, z); d5 = Avx512F.MaskLoad(rows[5] + x, mask, z);
                }
                if (relu)
                {
                    var z = Vector512<float>.Zero;
                    d0 = Vector512.Max(d0, z); d1 = Vector512.Max(d1, z); d2 = Vector512.Max(d2, z);
                    d3 = Vector512.Max(d3, z); d4 = Vector512.Max(d4, z); d5 = Vector512.Max(d5, z);
                }
                Bt(d0, d1, d2, d3, d4, d5, out var r0, out var r1, out var r2, out var r3, out var r4, out var r5);
                float* d = strip + q;
                Vector512.Store(r0, d); Vector512.Store(r1, d + sw); Vector512.Store(r2, d + 2 * sw);
                Vector512.Store(r3, d + 3 * sw); Vector512.Store(r4, d + 4 * sw); Vector512.Store(r5, d + 5 * sw);
            }
        }

        /// <summary>
        /// Bᵀ along x for 16 tiles whose strip columns start at <paramref name="p"/> (tile i's six columns are p[4i..4i+5]),
        /// stored as V[ξ = 6r + k] through two lane masks (the second for lanes continuing in the next sliver).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void TileX(float* p, int sw, float* dst, long xiStride, Vector512<float> m1, float* dst2,
            Vector512<float> m2, bool split)
        {
            var even64 = Vector512.Create(0L, 2, 4, 6, 8, 10, 12, 14);
            var odd64 = Vector512.Create(1L, 3, 5, 7, 9, 11, 13, 15);
            var even32 = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var odd32 = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
            var next0 = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
            var next1 = Vector512.Create(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17);
            for (int r = 0; r < 6; r++, p += sw)
            {
                // Pairs of columns (4i, 4i+1) and (4i+2, 4i+3) are the even and odd 64-bit elements.
                var a0 = Vector512.Load(p).AsDouble(); var a1 = Vector512.Load(p + 16).AsDouble();
                var a2 = Vector512.Load(p + 32).AsDouble(); var a3 = Vector512.Load(p + 48).AsDouble();
                var a4 = Vector512.Load(p + 64);
                var e01Lo = Avx512F.PermuteVar8x64x2(a0, even64, a1).AsSingle();
                var e01Hi = Avx512F.PermuteVar8x64x2(a2, even64, a3).AsSingle();
                var e23Lo = Avx512F.PermuteVar8x64x2(a0, odd64, a1).AsSingle();
                var e23Hi = Avx512F.PermuteVar8x64x2(a2, odd64, a3).AsSingle();
                var d0 = Avx512F.PermuteVar16x32x2(e01Lo, even32, e01Hi);
                var d1 = Avx512F.PermuteVar16x32x2(e01Lo, odd32, e01Hi);
                var d2 = Avx512F.PermuteVar16x32x2(e23Lo, even32, e23Hi);
                var d3 = Avx512F.PermuteVar16x32x2(e23Lo, odd32, e23Hi);
                // Columns 4i+4 and 4i+5 are columns 0 and 1 of the next tile.
                var d4 = Avx512F.PermuteVar16x32x2(d0, next0, a4);
                var d5 = Avx512F.PermuteVar16x32x2(d1, next1, a4);
                Bt(d0, d1, d2, d3, d4, d5, out var v0, out var v1, out var v2, out var v3, out var v4, out var v5);
                float* q = dst + 6 * r * xiStride;
                Avx512F.MaskStore(q, m1, v0); Avx512F.MaskStore(q + xiStride, m1, v1);
                Avx512F.MaskStore(q + 2 * xiStride, m1, v2); Avx512F.MaskStore(q + 3 * xiStride, m1, v3);
                Avx512F.MaskStore(q + 4 * xiStride, m1, v4); Avx512F.MaskStore(q + 5 * xiStride, m1, v5);
                if (split)
                {
                    q = dst2 + 6 * r * xiStride;
                    Avx512F.MaskStore(q, m2, v0); Avx512F.MaskStore(q + xiStride, m2, v1);
                    Avx512F.MaskStore(q + 2 * xiStride, m2, v2); Avx512F.MaskStore(q + 3 * xiStride, m2, v3);
                    Avx512F.MaskStore(q + 4 * xiStride, m2, v4); Avx512F.MaskStore(q + 5 * xiStride, m2, v5);
                }
            }
        }

        /// <summary>y = Aᵀ M A + bias for tiles [t0, t0+n), 16 tiles of a tile row at a time, clipped to the image.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void OutputTransform(float* m, int t0, int n, int tpad, long xiStride, float* yb)
        {
            int h = s.InH, w = s.InW, tw = TilesW(s), outC = s.OutChannels;
            for (int o = 0; o < outC; o++)
            {
                float* plane = yb + (long)o * h * w;
                var add = Vector512.Create(bias != null ? bias[o] : 0f);
                for (int t = t0; t < t0 + n;)
                {
                    int ty = t / tw, txa = t % tw, txb = Math.Min(tw, txa + t0 + n - t);
                    for (int tx = txa; tx < txb; tx += 16)
                    {
                        int tb = t - t0 + tx - txa, lanes = Math.Min(16, txb - tx);
                        float* dst = plane + (long)4 * ty * w + 4 * tx;
                        TileOut(m + (long)o * tpad + tb, xiStride, add, dst, w, Math.Min(4, h - 4 * ty),
                            Math.Min(4 * lanes, w - 4 * tx), accumulate);
                    }
                    t += txb - txa;
                }
            }
        }

        /// <summary>
        /// One output channel of 16 tiles: Aᵀ along y then along x, the four columns interleaved back into image rows
        /// (64 contiguous values per row), of which <paramref name="rowCount"/> rows and <paramref name="colCount"/> columns are stored.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void TileOut(float* m, long xiStride, Vector512<float> add, float* dst, int w, int rowCount, int colCount,
            bool accumulate)
        {
            // z[i][k] = Σ_r Aᵀ[i][r] M[6r + k]
            var z = stackalloc Vector512<float>[24];
            for (int k = 0; k < 6; k++)
            {
                float* q = m + k * xiStride;
                At(Vector512.Load(q), Vector512.Load(q + 6 * xiStride), Vector512.Load(q + 12 * xiStride),
                    Vector512.Load(q + 18 * xiStride), Vector512.Load(q + 24 * xiStride), Vector512.Load(q + 30 * xiStride),
                    out z[k], out z[6 + k], out z[12 + k], out z[18 + k]);
            }
            var lo32 = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            var hi32 = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            var lo64 = Vector512.Create(0L, 8, 1, 9, 2, 10, 3, 11);
            var hi64 = Vector512.Create(4L, 12, 5, 13, 6, 14, 7, 15);
            var mask0 = LaneMask(0, colCount);
            var mask1 = LaneMask(0, colCount - 16);
            var mask2 = LaneMask(0, colCount - 32);
            var mask3 = LaneMask(0, colCount - 48);
            for (int i = 0; i < rowCount; i++, dst += w)
            {
                Vector512<float>* zi = z + 6 * i;
                At(zi[0], zi[1], zi[2], zi[3], zi[4], zi[5], out var y0, out var y1, out var y2, out var y3);
                y0 += add; y1 += add; y2 += add; y3 += add;
                // out[4i + j] = y_j[i]: pairs (y0, y1) and (y2, y3) interleaved as 32-bit, then the pairs as 64-bit.
                var p01Lo = Avx512F.PermuteVar16x32x2(y0, lo32, y1).AsDouble();
                var p01Hi = Avx512F.PermuteVar16x32x2(y0, hi32, y1).AsDouble();
                var p23Lo = Avx512F.PermuteVar16x32x2(y2, lo32, y3).AsDouble();
                var p23Hi = Avx512F.PermuteVar16x32x2(y2, hi32, y3).AsDouble();
                var o0 = Avx512F.PermuteVar8x64x2(p01Lo, lo64, p23Lo).AsSingle();
                var o1 = Avx512F.PermuteVar8x64x2(p01Lo, hi64, p23Lo).AsSingle();
                var o2 = Avx512F.PermuteVar8x64x2(p01Hi, lo64, p23Hi).AsSingle();
                var o3 = Avx512F.PermuteVar8x64x2(p01Hi, hi64, p23Hi).AsSingle();
                if (colCount == 64)
                {
                    if (accumulate)
                    {
                        o0 += Vector512.Load(dst); o1 += Vector512.Load(dst + 16);
                        o2 += Vector512.Load(dst + 32); o3 += Vector512.Load(dst + 48);
                    }
                    Vector512.Store(o0, dst); Vector512.Store(o1, dst + 16);
                    Vector512.Store(o2, dst + 32); Vector512.Store(o3, dst + 48);
                }
                else
                {
                    if (accumulate)
                    {
                        var z0 = Vector512<float>.Zero;
                        o0 += Avx512F.MaskLoad(dst, mask0, z0); o1 += Avx512F.MaskLoad(dst + 16, mask1, z0);
                        o2 += Avx512F.MaskLoad(dst + 32, mask2, z0); o3 += Avx512F.MaskLoad(dst + 48, mask3, z0);
                    }
                    Avx512F.MaskStore(dst, mask0, o0); Avx512F.MaskStore(dst + 16, mask1, o1);
                    Avx512F.MaskStore(dst + 32, mask2, o2); Avx512F.MaskStore(dst + 48, mask3, o3);
                }
            }
        }
    }

    /// <summary>Lanes [lo, hi) set (clamped to 0..16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LaneMask(int lo, int hi)
    {
        var i = Vector512<int>.Indices;
        return (Vector512.GreaterThanOrEqual(i, Vector512.Create(lo)) & Vector512.LessThan(i, Vector512.Create(hi))).AsSingle();
    }

    /// <summary>Bᵀ d for F(4, 3): rows (4,0,−5,0,1,0), (0,−4,−4,1,1,0), (0,4,−4,−1,1,0), (0,−2,−1,2,1,0), (0,2,−1,−2,1,0), (0,4,0,−5,0,1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Bt(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3,
        Vector512<float> d4, Vector512<float> d5, out Vector512<float> r0, out Vector512<float> r1, out Vector512<float> r2,
        out Vector512<float> r3, out Vector512<float> r4, out Vector512<float> r5)
    {
        var four = Vector512.Create(4f);
        var m4 = Vector512.Create(-4f);
        var m5 = Vector512.Create(-5f);
        r0 = Vector512.FusedMultiplyAdd(four, d0, Vector512.FusedMultiplyAdd(m5, d2, d4));
        var t0 = Vector512.FusedMultiplyAdd(m4, d2, d4);
        var t1 = Vector512.FusedMultiplyAdd(m4, d1, d3);
        r1 = t0 + t1;
        r2 = t0 - t1;
        var t2 = d4 - d2;
        var t3 = (d3 - d1) * Vector512.Create(2f);
        r3 = t2 + t3;
        r4 = t2 - t3;
        r5 = Vector512.FusedMultiplyAdd(four, d1, Vector512.FusedMultiplyAdd(m5, d3, d5));
    }

    /// <summary>Aᵀ m for F(4, 3): rows (1,1,1,1,1,0), (0,1,−1,2,−2,0), (0,1,1,4,4,0), (0,1,−1,8,−8,1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void At(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
        Vector512<float> m4, Vector512<float> m5, out Vector512<float> o0, out Vector512<float> o1, out Vector512<float> o2,
        out Vector512<float> o3)
    {
        var a = m1 + m2;
        var b = m1 - m2;
        var c = m3 + m4;
        var d = m3 - m4;
        o0 = m0 + a + c;
        o1 = Vector512.FusedMultiplyAdd(Vector512.Create(2f), d, b);
        o2 = Vector512.FusedMultiplyAdd(Vector512.Create(4f), c, a);
        o3 = Vector512.FusedMultiplyAdd(Vector512.Create(8f), d, b) + m5;
    }
}
