using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using System.Runtime.Intrinsics;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>Tests that change <see cref="KernelOptions"/> run alone, so no other test sees their settings.</summary>
[CollectionDefinition(nameof(KernelOptionsCollection), DisableParallelization = true)]
public sealed class KernelOptionsCollection;

/// <summary>
/// Every fast kernel against its reference loop on random data with awkward sizes.
/// Tolerance: max|Δ| ≤ 2e-6 · √k · (1 + max|ref|), where k is the length of the reduction behind each output (1 for
/// element-wise kernels). Float sums of k terms in a different order differ by about ε·√k relative to their magnitude
/// (ε ≈ 6e-8); the observed ratio is ~6e-8, so this leaves a ~30× margin while a dropped or doubled term still fails.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class KernelEquivalenceTests
{
    // ---- GEMM ----

    public static TheoryData<int, int, int, bool, bool, bool, int> GemmCases()
    {
        var data = new TheoryData<int, int, int, bool, bool, bool, int>();
        (int m, int n, int k)[] shapes =
        [
            (1, 1, 1), (1, 17, 15), (15, 1, 17), (14, 32, 16), (15, 33, 17), (29, 65, 63), (13, 31, 385), (170, 40, 9),
            (3, 2100, 5), (64, 64, 64), (200, 300, 777),
        ];
        foreach (var (m, n, k) in shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    // Accumulate and the thread count rotate with the shape so every combination of them appears.
                    int idx = m + n + k + (ta ? 1 : 0) + (tb ? 2 : 0);
                    data.Add(m, n, k, ta, tb, idx % 2 == 0, 1);
                    data.Add(m, n, k, ta, tb, idx % 2 == 1, 2);
                }
        return data;
    }

    [Theory]
    [MemberData(nameof(GemmCases))]
    public void Gemm_matches_reference(int m, int n, int k, bool transA, bool transB, bool accumulate, int threads)
    {
        using var _ = new Options(threads);
        // Leading dimensions a little wider than the matrices, so row strides are exercised too.
        int pad = (m + n + k) % 3;
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        var a = Random(1, (long)(transA ? k : m) * lda);
        var b = Random(2, (long)(transB ? n : k) * ldb);
        var expected = Random(3, (long)m * ldc);
        var actual = (float[])expected.Clone();
        Reference.Gemm(m, n, k, a, lda, transA, b, ldb, transB, expected, ldc, accumulate);
        Fast.Gemm(m, n, k, a, lda, transA, b, ldb, transB, actual, ldc, accumulate);
        AssertClose(expected, actual, k, $"gemm {m}x{n}x{k} tA={transA} tB={transB} acc={accumulate} T={threads}");
    }

    [Fact]
    public void Gemm_with_zero_depth_clears_or_keeps_c()
    {
        using var _ = new Options(1);
        var c = Random(4, 6);
        var kept = (float[])c.Clone();
        Fast.Gemm(2, 3, 0, [], 1, false, [], 3, false, kept, 3, accumulate: true);
        Assert.Equal(c, kept);
        Fast.Gemm(2, 3, 0, [], 1, false, [], 3, false, c, 3, accumulate: false);
        Assert.All(c, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Gemm_rejects_spans_too_short_for_the_strides()
    {
        // A 2×4 A with lda 4 needs 8 values, a 4×3 B with ldb 3 needs 12, a 2×3 C with ldc 3 needs 6.
        var b = new float[12];
        var c = new float[6];
        Fast.Gemm(2, 3, 4, new float[8], 4, false, b, 3, false, c, 3, false);
        Assert.Throws<ArgumentException>(() => Fast.Gemm(2, 3, 4, new float[7], 4, false, b, 3, false, c, 3, false));
        Assert.Throws<ArgumentException>(() => Fast.Gemm(2, 3, 4, new float[8], 4, true, b, 3, false, c, 3, false));
        Assert.Throws<ArgumentException>(() => Fast.Gemm(2, 3, 4, new float[8], 4, false, new float[11], 3, false, c, 3, false));
        Assert.Throws<ArgumentException>(() => Fast.Gemm(2, 3, 4, new float[8], 4, false, b, 3, false, new float[5], 3, false));
        Assert.Throws<ArgumentException>(() => Fast.Gemm(2, 3, 4, new float[8], 4, false, b, 3, false, c, 2, false));
    }

    // ---- Linear ----

    [Theory]
    [InlineData(1, 1, 1, true, 1)]
    [InlineData(1, 15, 17, false, 2)]
    [InlineData(3, 33, 63, true, 1)]
    [InlineData(65, 64, 65, true, 2)]
    [InlineData(1, 1024, 1, true, 2)]
    [InlineData(577, 100, 33, true, 2)]
    [InlineData(300, 385, 70, false, 1)]
    [InlineData(300, 385, 70, true, 2)]
    [InlineData(29, 2100, 97, true, 2)] // three K slices of the packed layout, N off the sliver width, few rows: N split
    [InlineData(1000, 70, 40, true, 3)] // rows claimed in shrinking chunks by three threads, the last tile partial
    public void PackedLinear_matches_reference_and_gemm(int rows, int inF, int outF, bool withBias, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(5, (long)rows * inF);
        var w = Random(6, (long)outF * inF);
        var wT = new float[w.Length];
        for (int o = 0; o < outF; o++)
            for (int i = 0; i < inF; i++) wT[i * outF + o] = w[o * inF + i];
        var bias = withBias ? Random(7, outF) : [];
        var expected = new float[rows * outF];
        var reference = new float[rows * outF];
        var actual = new float[rows * outF];
        // x · wᵀ from the plain GEMM loops on the checkpoint's [out, in] layout, plus the bias.
        Reference.Gemm(rows, outF, inF, x, inF, false, w, inF, true, expected, outF, false);
        if (withBias)
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < outF; o++) expected[r * outF + o] += bias[o];
        Reference.LinearWeightT(x, rows, inF, wT, bias, outF, reference);
        var packed = new PackedWeight(new Tensor(w, outF, inF));
        Fast.LinearPacked(x, rows, inF, packed.Packed, bias, outF, actual);
        AssertClose(expected, reference, inF, $"reference linearT {rows}x{inF}->{outF}");
        AssertClose(expected, actual, inF, $"packed linear {rows}x{inF}->{outF} bias={withBias} T={threads}");
        // Unpacked again for the reference kernels, it is the transposed weight exactly.
        Assert.Equal(wT, packed.ToWeightT().Data);
    }

    [Theory]
    [InlineData(1, 1, 1, HalfKind.F16, true, 1)]
    [InlineData(3, 33, 63, HalfKind.BF16, true, 1)]
    [InlineData(65, 64, 65, HalfKind.F16, false, 2)]
    [InlineData(300, 385, 70, HalfKind.BF16, true, 2)]
    [InlineData(577, 100, 33, HalfKind.F16, true, 2)]
    [InlineData(40, 2100, 70, HalfKind.F16, true, 2)] // three K slices
    // HalfKind is internal, and xUnit's theories are public methods: the format comes boxed.
    public void HalfWeightLinear_matches_the_reference_on_the_widened_weight(int rows, int inF, int outF, object format, bool withBias, int threads)
    {
        var kind = (HalfKind)format;
        using var _ = new Options(threads);
        var x = Random(5, (long)rows * inF);
        var wide = Random(6, (long)inF * outF);
        // Round the weight to the 16-bit format, so the widened float32 copy is exactly what the kernel must compute with.
        var bits = new ushort[wide.Length];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = kind == HalfKind.F16 ? BitConverter.HalfToUInt16Bits((Half)wide[i]) : (ushort)(BitConverter.SingleToUInt32Bits(wide[i]) >> 16);
        var widened = new HalfTensor(bits, kind, inF, outF).ToFloat().Data;
        for (int i = 0; i < bits.Length; i++)
        {
            float exact = kind == HalfKind.F16 ? (float)BitConverter.UInt16BitsToHalf(bits[i]) : BitConverter.Int32BitsToSingle(bits[i] << 16);
            Assert.Equal(exact, widened[i]);
        }
        var bias = withBias ? Random(7, outF) : [];
        var expected = new float[rows * outF];
        var actual = new float[rows * outF];
        Reference.LinearWeightT(x, rows, inF, widened, bias, outF, expected);
        Fast.LinearWeightT(x, rows, inF, bits, kind, bias, outF, actual);
        AssertClose(expected, actual, inF, $"half linearT {kind} {rows}x{inF}->{outF} bias={withBias} T={threads}");
    }

    [Fact]
    public void HalfTensor_transposes_blocks_and_tails()
    {
        int rows = 37, cols = 70;
        var bits = new ushort[rows * cols];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)(i * 7 + 3);
        var t = new HalfTensor(bits, HalfKind.BF16, rows, cols).Transpose2D();
        Assert.Equal([cols, rows], t.Shape);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) Assert.Equal(bits[r * cols + c], t.Bits[c * rows + r]);
    }

    // ---- Data movement ----

    [Theory]
    [InlineData(1, 5, 1)]
    [InlineData(7, 9, 8)]
    [InlineData(8, 8, 8)]
    [InlineData(14, 64, 14)]
    [InlineData(14, 45, 14)]
    [InlineData(26, 64, 32)]
    [InlineData(32, 384, 32)]
    [InlineData(19, 17, 32)]
    public void Packing_transpose_matches_a_plain_transpose(int rows, int cols, int ldd)
    {
        int lds = cols + 3;
        var src = Random(31, (long)rows * lds);
        var expected = new float[cols * ldd];
        for (int p = 0; p < cols; p++)
            for (int r = 0; r < rows; r++) expected[p * ldd + r] = src[r * lds + p];
        var actual = Enumerable.Repeat(float.NaN, cols * ldd).ToArray();
        unsafe
        {
            fixed (float* ps = src, pd = actual) PackedGemm.Transpose(ps, lds, rows, cols, pd, ldd);
        }
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(new[] { 1 }, new[] { 0 }, 1)]
    [InlineData(new[] { 3, 5 }, new[] { 1, 0 }, 2)]
    [InlineData(new[] { 2, 3, 17 }, new[] { 0, 2, 1 }, 2)]
    [InlineData(new[] { 2, 7, 5, 3 }, new[] { 0, 3, 1, 2 }, 1)]
    [InlineData(new[] { 2, 7, 5, 3 }, new[] { 0, 2, 3, 1 }, 2)]
    [InlineData(new[] { 4, 1, 33, 9 }, new[] { 3, 2, 1, 0 }, 2)]
    [InlineData(new[] { 35, 9, 65 }, new[] { 2, 0, 1 }, 2)]
    // Rotations (batched 8 × 8-block transposes) with row and column counts off the block sizes, and one that is not.
    [InlineData(new[] { 130, 77 }, new[] { 1, 0 }, 2)]
    [InlineData(new[] { 3, 70, 131 }, new[] { 0, 2, 1 }, 2)]
    [InlineData(new[] { 1, 300, 9 }, new[] { 0, 2, 1 }, 1)]
    [InlineData(new[] { 2, 19, 23, 40 }, new[] { 0, 3, 1, 2 }, 2)]
    [InlineData(new[] { 2, 40, 19, 23 }, new[] { 0, 2, 3, 1 }, 2)]
    [InlineData(new[] { 2, 9, 11, 13, 5 }, new[] { 0, 1, 3, 4, 2 }, 2)]
    [InlineData(new[] { 2, 3, 5, 7 }, new[] { 0, 2, 1, 3 }, 2)]
    public void Permute_matches_reference(int[] shape, int[] perm, int threads)
    {
        using var _ = new Options(threads);
        long n = shape.Aggregate(1L, (a, d) => a * d);
        var x = Random(11, n);
        var expected = new float[n];
        var actual = new float[n];
        Reference.Permute(x, shape, perm, expected);
        Fast.Permute(x, shape, perm, actual);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(1, 1, 4, 4, 4, 1, 1)]
    [InlineData(1, 3, 9, 9, 4, 2, 2)]
    [InlineData(2, 3, 13, 11, 5, 3, 2)]
    [InlineData(1, 2, 16, 16, 8, 6, 1)]
    [InlineData(3, 1, 7, 9, 2, 1, 2)]
    public void Unfold_matches_reference(int b, int c, int h, int w, int kernel, int stride, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(12, (long)b * c * h * w);
        int blocks = ((h - kernel) / stride + 1) * ((w - kernel) / stride + 1);
        var expected = new float[b * c * kernel * kernel * blocks];
        var actual = new float[expected.Length];
        Reference.Unfold(x, b, c, h, w, kernel, stride, expected);
        Fast.Unfold(x, b, c, h, w, kernel, stride, actual);
        Assert.Equal(expected, actual);
    }

    // ---- Convolutions ----

    public static TheoryData<int, int, int, int, int, int, int, int, int> ConvCases()
    {
        // batch, in channels, H, W, out channels, kernel, stride, padding, threads
        var data = new TheoryData<int, int, int, int, int, int, int, int, int>();
        (int b, int c, int h, int w, int o, int k, int s, int p)[] shapes =
        [
            (1, 1, 5, 7, 1, 1, 1, 0), (3, 4, 9, 11, 5, 1, 1, 0), (1, 3, 9, 10, 6, 1, 2, 1), (1, 32, 24, 24, 64, 1, 1, 0),
            (1, 3, 8, 9, 5, 2, 2, 0), (3, 2, 7, 9, 4, 2, 1, 1),
            (1, 1, 17, 33, 3, 3, 1, 1), (3, 5, 15, 17, 7, 3, 2, 1), (1, 4, 12, 13, 6, 3, 1, 0), (1, 8, 70, 65, 17, 3, 1, 1),
            (1, 16, 40, 40, 30, 3, 1, 1), (3, 3, 11, 9, 2, 3, 2, 0),
            // Rows wider than eight slivers, and a last full sliver running into the right padding.
            (1, 2, 5, 300, 3, 3, 1, 1), (1, 2, 4, 256, 3, 3, 1, 1),
            (2, 3, 32, 48, 20, 16, 16, 0), (1, 3, 33, 40, 8, 16, 16, 0), (1, 2, 20, 18, 3, 16, 1, 1),
            // Stride 2 over rows wide enough for sixteen outputs at a time, with and without padding, and Depth Anything's.
            (1, 4, 9, 75, 5, 3, 2, 1), (1, 2, 6, 70, 3, 3, 2, 0), (1, 3, 37, 37, 6, 3, 2, 1),
            // One output channel from a 1×1 kernel (a depth head's last layer): several pixel chunks with a tail, a batch.
            (2, 5, 37, 61, 1, 1, 1, 0), (1, 32, 64, 70, 1, 1, 1, 0),
        ];
        foreach (var (b, c, h, w, o, k, s, p) in shapes)
        {
            data.Add(b, c, h, w, o, k, s, p, 1);
            data.Add(b, c, h, w, o, k, s, p, 2);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void Conv2d_matches_reference(int batch, int inC, int h, int w, int outC, int kernel, int stride, int pad, int threads)
    {
        using var _ = new Options(threads);
        var s = new ConvShape(batch, inC, h, w, outC, kernel, kernel, stride, stride, pad, pad);
        var x = Random(8, (long)batch * inC * h * w);
        var wt = Random(9, (long)outC * inC * kernel * kernel);
        // Bias on for some shapes only, so both store paths run.
        var bias = (h + w) % 2 == 0 ? Random(10, outC) : [];
        var expected = new float[(long)batch * outC * s.OutH * s.OutW];
        var actual = new float[expected.Length];
        Reference.Conv2d(s, x, wt, bias, expected);
        Fast.Conv2d(s, x, wt, bias, actual);
        AssertClose(expected, actual, (long)inC * kernel * kernel, $"conv {s} T={threads}");
    }

    [Theory]
    [InlineData(1, 3, 7, 9, 5, 1, 1, 0, 1, true, false)]
    [InlineData(2, 5, 15, 17, 7, 3, 2, 1, 2, true, true)]
    [InlineData(1, 16, 40, 40, 30, 3, 1, 1, 2, false, true)]
    [InlineData(1, 8, 70, 65, 17, 3, 1, 1, 1, true, true)]
    [InlineData(1, 33, 13, 37, 67, 3, 1, 1, 2, true, true)]
    [InlineData(2, 32, 45, 50, 1, 1, 1, 0, 2, true, true)]
    [InlineData(1, 7, 3, 5, 1, 1, 1, 0, 1, true, false)]
    [InlineData(1, 9, 41, 59, 1, 1, 1, 0, 2, false, true)]
    public void Conv2d_relu_input_and_accumulate_match_the_long_way(int batch, int inC, int h, int w, int outC, int kernel,
        int stride, int pad, int threads, bool relu, bool accumulate)
    {
        using var _ = new Options(threads);
        var s = new ConvShape(batch, inC, h, w, outC, kernel, kernel, stride, stride, pad, pad);
        var x = Random(8, (long)batch * inC * h * w);
        var wt = Random(9, (long)outC * inC * kernel * kernel);
        var bias = Random(10, outC);
        var start = Random(11, (long)batch * outC * s.OutH * s.OutW);
        // The long way: relu(x) made, convolved, then added.
        var input = relu ? x.Select(v => MathF.Max(v, 0f)).ToArray() : x;
        var expected = new float[start.Length];
        Reference.Conv2d(s, input, wt, bias, expected);
        if (accumulate)
            for (int i = 0; i < expected.Length; i++) expected[i] += start[i];
        var actual = accumulate ? (float[])start.Clone() : new float[start.Length];
        Fast.Conv2d(s, x, wt, bias, actual, relu, accumulate);
        AssertClose(expected, actual, (long)inC * kernel * kernel, $"fast conv relu={relu} acc={accumulate} {s} T={threads}");

        // The same through Ops, on the fast and on the reference path.
        foreach (bool force in new[] { false, true })
        {
            using var kernels = KernelOptions.UseReference(force);
            var target = accumulate ? new Tensor((float[])start.Clone(), batch, outC, s.OutH, s.OutW) : null;
            var y = Ops.Conv2d(new Tensor(x, batch, inC, h, w), new Tensor(wt, outC, inC, kernel, kernel), new Tensor(bias, outC),
                stride, pad, relu, target);
            if (accumulate) Assert.Same(target, y);
            AssertClose(expected, y.Data, (long)inC * kernel * kernel, $"Ops conv reference={force} relu={relu} acc={accumulate} {s}");
        }
    }

    public static TheoryData<int, int, int, int, int, int, int, int, int> ConvTransposeCases()
    {
        var data = new TheoryData<int, int, int, int, int, int, int, int, int>();
        (int b, int c, int h, int w, int o, int k, int s, int p)[] shapes =
        [
            (1, 1, 5, 7, 1, 2, 2, 0), (3, 4, 6, 37, 5, 2, 2, 0), (1, 64, 24, 40, 16, 2, 2, 0), (1, 5, 4, 6, 4, 1, 1, 0),
            (1, 3, 7, 9, 5, 3, 2, 1), (2, 6, 5, 8, 3, 3, 1, 0), (2, 3, 6, 6, 2, 4, 2, 1), (1, 2, 3, 4, 3, 16, 16, 0),
            (3, 7, 9, 5, 3, 3, 3, 0),
        ];
        foreach (var (b, c, h, w, o, k, s, p) in shapes)
        {
            data.Add(b, c, h, w, o, k, s, p, 1);
            data.Add(b, c, h, w, o, k, s, p, 2);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ConvTransposeCases))]
    public void ConvTranspose2d_matches_reference(int batch, int inC, int h, int w, int outC, int kernel, int stride, int pad, int threads)
    {
        using var _ = new Options(threads);
        var s = new ConvShape(batch, inC, h, w, outC, kernel, kernel, stride, stride, pad, pad);
        var x = Random(11, (long)batch * inC * h * w);
        var wt = Random(12, (long)inC * outC * kernel * kernel);
        var bias = (h + w) % 2 == 0 ? Random(13, outC) : [];
        var expected = new float[(long)batch * outC * s.TransposedOutH * s.TransposedOutW];
        var actual = new float[expected.Length];
        Reference.ConvTranspose2d(s, x, wt, bias, expected);
        Fast.ConvTranspose2d(s, x, wt, bias, actual);
        AssertClose(expected, actual, (long)inC * kernel * kernel, $"conv_transpose {s} T={threads}");
    }

    // ---- Attention ----

    [Theory]
    [InlineData(1, 1, 1, 1, 1, 1f, 1)]
    [InlineData(1, 1, 15, 1, 17, 0.25f, 2)]
    [InlineData(3, 17, 33, 2, 8, 0.35f, 1)]
    [InlineData(1, 65, 63, 3, 16, 0.25f, 2)]
    [InlineData(3, 15, 1, 1, 65, 0.125f, 1)]
    [InlineData(2, 64, 577, 2, 64, 0.125f, 1)]
    [InlineData(2, 64, 577, 2, 64, 0.125f, 2)]
    [InlineData(1, 130, 40, 4, 64, -0.5f, 2)]
    [InlineData(1, 200, 129, 1, 32, 0.2f, 2)]
    public void Attention_matches_reference(int batch, int nq, int nk, int heads, int headDim, float scale, int threads)
    {
        using var _ = new Options(threads);
        int width = heads * headDim;
        // Scores of several units, so the max subtraction matters.
        var q = Random(14, (long)batch * nq * width, 3f);
        var k = Random(15, (long)batch * nk * width, 3f);
        var v = Random(16, (long)batch * nk * width);
        var expected = new float[q.Length];
        var actual = new float[q.Length];
        Reference.Attention(q, k, v, batch, nq, nk, heads, headDim, scale, expected);
        Fast.Attention(q, k, v, batch, nq, nk, heads, headDim, scale, actual);
        AssertClose(expected, actual, nk + headDim, $"attention B={batch} Nq={nq} Nk={nk} H={heads} D={headDim} T={threads}");
    }

    // ---- Element-wise, normalisation, resampling ----

    public static TheoryData<int> Lengths() => [1, 15, 16, 17, 33, 63, 65, 1000, 70001];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Gelu_matches_reference(int n)
    {
        using var _ = new Options(2);
        var x = Random(17, n, 6f);
        var expected = new float[n];
        var actual = new float[n];
        Reference.Gelu(x, expected);
        Fast.Gelu(x, actual);
        AssertClose(expected, actual, 1, $"gelu n={n}");
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Relu_and_AddInPlace_match_reference(int n)
    {
        using var _ = new Options(2);
        var x = Random(18, n, 3f);
        var other = Random(19, n, 3f);
        float[] expected = new float[n], actual = new float[n];
        Reference.Relu(x, expected);
        Fast.Relu(x, actual);
        Assert.Equal(expected, actual);
        expected = (float[])x.Clone();
        actual = (float[])x.Clone();
        Reference.AddInPlace(expected, other);
        Fast.AddInPlace(actual, other);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 17, 2)]
    [InlineData(1370, 384, 2)]
    [InlineData(577, 1024, 1)]
    [InlineData(9, 1000, 2)]
    public void ScaleLastDimAdd_matches_reference(int rows, int dim, int threads)
    {
        using var _ = new Options(threads);
        var scale = Random(20, dim, 2f);
        var residual = Random(21, (long)rows * dim, 3f);
        var expected = Random(22, (long)rows * dim, 3f);
        var actual = (float[])expected.Clone();
        Reference.ScaleLastDimAdd(expected, dim, scale, residual);
        Fast.ScaleLastDimAdd(actual, dim, scale, residual);
        // One rounding (fused multiply-add) against two: a unit in the last place of the larger term.
        AssertClose(expected, actual, 1, $"scale-add {rows}x{dim} T={threads}");
        Assert.Throws<ArgumentException>(() => Fast.ScaleLastDimAdd(actual, dim + 1, Random(23, dim + 1), residual));
    }

    [Theory]
    [InlineData(1.0, 0.8413447460685429)]
    [InlineData(-0.5, -0.15426876936299344)]
    [InlineData(0.0, 0.0)]
    [InlineData(2.0, 1.9544997361036416)]
    [InlineData(-3.0, -0.00404969409489031)]
    [InlineData(0.1, 0.053982783727702904)]
    [InlineData(5.0, 4.999998566742141)]
    [InlineData(-1.5, -0.10021080190328713)]
    public void Gelu_matches_exact_values(double x, double exact)
    {
        // Exact values are x·Φ(x) from an independent double-precision erf (Python's math.erf).
        float[] input = [(float)x];
        var reference = new float[1];
        var fast = new float[1];
        Reference.Gelu(input, reference);
        Fast.Gelu(input, fast);
        Assert.Equal(exact, reference[0], 1e-7 * (1 + Math.Abs(exact)));
        Assert.Equal(exact, fast[0], 1e-6 * (1 + Math.Abs(exact)));
    }

    [Fact]
    public void Vector_exp_is_within_a_few_ulp_of_Math_Exp()
    {
        double worst = 0;
        for (double x = -87.3; x <= 88.3; x += 0.00731)
        {
            float xf = (float)x;
            double exact = Math.Exp(xf);
            worst = Math.Max(worst, Math.Abs(VecMath.Exp(Vector512.Create(xf)).GetElement(0) - exact) / exact);
            worst = Math.Max(worst, Math.Abs(VecMath.Exp(Vector256.Create(xf)).GetElement(0) - exact) / exact);
        }
        Assert.True(worst <= 3e-7, $"max relative error {worst:E3}");
        // Far below the range it flushes to a tiny positive value, never NaN or a negative.
        float tiny = VecMath.Exp(Vector512.Create(-1000f)).GetElement(0);
        Assert.InRange(tiny, 0f, 2e-38f);
        // Far above it, +∞ (not a wrapped exponent field).
        foreach (float big in new[] { 88.5f, 89.5f, 100f, 1000f, float.PositiveInfinity })
        {
            Assert.Equal(float.PositiveInfinity, VecMath.Exp(Vector512.Create(big)).GetElement(0));
            Assert.Equal(float.PositiveInfinity, VecMath.Exp(Vector256.Create(big)).GetElement(0));
        }
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Relu_Silu_and_Sigmoid_match_reference(int n)
    {
        using var _ = new Options(2);
        var x = Random(18, n, 8f);
        var expected = new float[n];
        var actual = new float[n];
        Reference.Relu(x, expected);
        Fast.Relu(x, actual);
        AssertClose(expected, actual, 1, $"relu n={n}");
        Reference.Silu(x, expected);
        Fast.Silu(x, actual);
        AssertClose(expected, actual, 1, $"silu n={n}");
        Reference.Sigmoid(x, expected);
        Fast.Sigmoid(x, actual);
        AssertClose(expected, actual, 1, $"sigmoid n={n}");
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 15, 2)]
    [InlineData(1, 17, 1)]
    [InlineData(3, 33, 2)]
    [InlineData(2, 63, 1)]
    [InlineData(5, 65, 2)]
    [InlineData(40, 577, 2)]
    public void Softmax_matches_reference(int rows, int n, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(19, (long)rows * n, 10f);
        var expected = new float[x.Length];
        var actual = new float[x.Length];
        Reference.Softmax(x, rows, n, expected);
        Fast.Softmax(x, rows, n, actual);
        AssertClose(expected, actual, n, $"softmax {rows}x{n}");
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 15, 2)]
    [InlineData(1, 17, 1)]
    [InlineData(3, 33, 2)]
    [InlineData(2, 63, 1)]
    [InlineData(5, 65, 2)]
    [InlineData(40, 1024, 2)]
    public void LayerNorm_matches_reference(int rows, int dim, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(20, (long)rows * dim, 4f);
        // An offset row mean, so the centring is exercised.
        for (int i = 0; i < x.Length; i++) x[i] += 2f;
        var gamma = Random(21, dim);
        var beta = Random(22, dim);
        var expected = new float[x.Length];
        var actual = new float[x.Length];
        Reference.LayerNorm(x, rows, dim, gamma, beta, 1e-5f, expected);
        Fast.LayerNorm(x, rows, dim, gamma, beta, 1e-5f, actual);
        AssertClose(expected, actual, dim, $"layernorm {rows}x{dim}");
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(3, 5, 17, 2)]
    [InlineData(1, 3, 65, 1)]
    [InlineData(3, 2, 1000, 2)]
    [InlineData(1, 64, 33, 2)]
    public void BatchNorm_matches_reference(int batch, int channels, int plane, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(23, (long)batch * channels * plane, 3f);
        var mean = Random(24, channels);
        var variance = Random(25, channels).Select(v => v * v + 0.1f).ToArray();
        var gamma = Random(26, channels);
        var beta = Random(27, channels);
        var expected = new float[x.Length];
        var actual = new float[x.Length];
        Reference.BatchNorm(x, batch, channels, plane, mean, variance, gamma, beta, 1e-5f, expected);
        Fast.BatchNorm(x, batch, channels, plane, mean, variance, gamma, beta, 1e-5f, actual);
        AssertClose(expected, actual, 1, $"batchnorm {batch}x{channels}x{plane}");
    }

    public static TheoryData<int, int, int, int, int, bool, bool> ResizeCases() => new()
    {
        // planes, inH, inW, outH, outW, alignCorners, pass scale factors (out/in)
        { 1, 1, 1, 1, 1, false, false },
        { 1, 1, 1, 3, 5, true, false },
        { 3, 5, 7, 10, 14, false, true },
        { 3, 5, 7, 10, 14, true, false },
        { 2, 7, 5, 3, 2, false, false },
        { 1, 24, 24, 48, 48, false, true },
        { 2, 17, 33, 1, 65, false, false },
        { 1, 17, 33, 1, 65, true, false },
        { 4, 40, 30, 15, 17, false, false },
        { 3, 37, 37, 74, 74, true, false }, // a fusion layer's 2× upsampling: x passes reused across output rows
        { 2, 29, 37, 51, 65, true, false }, // the depth head's 1.75× (296 → 518 scaled down), vector tails
    };

    [Theory]
    [MemberData(nameof(ResizeCases))]
    public void Resize_matches_reference(int planes, int inH, int inW, int outH, int outW, bool alignCorners, bool withScale)
    {
        using var _ = new Options(2);
        var x = Random(28, (long)planes * inH * inW);
        double? sh = withScale ? (double)outH / inH : null, sw = withScale ? (double)outW / inW : null;
        var expected = new float[(long)planes * outH * outW];
        var actual = new float[expected.Length];
        Reference.ResizeBilinear(x, planes, inH, inW, outH, outW, alignCorners, sh, sw, expected);
        Fast.ResizeBilinear(x, planes, inH, inW, outH, outW, alignCorners, sh, sw, actual);
        // Same products and sums in the same order: the same bits.
        Assert.Equal(expected, actual);
        Reference.ResizeBicubic(x, planes, inH, inW, outH, outW, alignCorners, sh, sw, expected);
        Fast.ResizeBicubic(x, planes, inH, inW, outH, outW, alignCorners, sh, sw, actual);
        AssertClose(expected, actual, 16, $"bicubic {inH}x{inW}->{outH}x{outW} ac={alignCorners}");
    }

    // ---- Dispatch through Ops ----

    [Fact]
    public void Ops_give_the_same_answer_with_and_without_ForceReference()
    {
        using var _ = new Options(2);
        var x = new Tensor(Random(29, 2 * 6 * 9 * 10), 2, 6, 9, 10);
        var w = new Tensor(Random(30, 5 * 6 * 3 * 3), 5, 6, 3, 3);
        var b = new Tensor(Random(31, 5), 5);
        var tw = new Tensor(Random(32, 6 * 4 * 2 * 2), 6, 4, 2, 2);
        var lw = new PackedWeight(new Tensor(Random(33, 7 * 10), 7, 10)); // nn.Linear(10, 7)
        var lb = new Tensor(Random(34, 7), 7);
        Tensor[] Run() =>
        [
            Ops.Conv2d(x, w, b, stride: 1, padding: 1),
            Ops.ConvTranspose2d(x, tw, null, stride: 2),
            Ops.Linear(x, lw, lb),
            Ops.Attention(x.Reshape(2, 54, 10), x.Reshape(2, 54, 10), x.Reshape(2, 54, 10), heads: 2, scale: 0.3f),
        ];
        Tensor[] reference, fast;
        using (KernelOptions.UseReference(true)) reference = Run();
        using (KernelOptions.UseReference(false)) fast = Run();
        for (int i = 0; i < reference.Length; i++)
        {
            Assert.Equal(reference[i].Shape, fast[i].Shape);
            AssertClose(reference[i].Data, fast[i].Data, 64, $"op {i}");
        }
    }
}
