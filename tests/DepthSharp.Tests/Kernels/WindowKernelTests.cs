using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>
/// The window kernels Swin V2 added (partition into shifted windows, the merge back, cosine attention with a gathered bias
/// and a region mask) against their reference loops, with the tolerance rule of <see cref="KernelEquivalenceTests"/>.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class WindowKernelTests
{
    [Theory]
    [InlineData(1, 1, 1, 1, 1, 0)]
    [InlineData(1, 4, 4, 3, 4, 2)]
    [InlineData(2, 7, 10, 5, 4, 2)]
    [InlineData(1, 9, 5, 2, 4, 3)]
    [InlineData(3, 5, 13, 7, 3, 1)]
    [InlineData(1, 17, 17, 1, 16, 8)]
    [InlineData(2, 6, 6, 2, 8, 0)]
    public void WindowPartitionAndMerge_match_reference(int batch, int height, int width, int channels, int window, int shift)
    {
        using var _ = new Options(2);
        var x = Random(41, (long)batch * height * width * channels);
        int windowed = batch * Ops.WholeWindows(height, window) * Ops.WholeWindows(width, window) * channels;
        // Stale values in the outputs, so that a position the fast kernels skip shows.
        var expected = Random(42, windowed, 9f);
        var actual = Random(43, windowed, 9f);
        Reference.WindowPartition(x, batch, height, width, channels, window, shift, expected);
        Fast.WindowPartition(x, batch, height, width, channels, window, shift, actual);
        Assert.Equal(expected, actual);

        var windows = Random(44, windowed);
        var merged = Random(45, x.Length, 9f);
        var mergedFast = Random(46, x.Length, 9f);
        Reference.WindowMerge(windows, batch, height, width, channels, window, shift, merged);
        Fast.WindowMerge(windows, batch, height, width, channels, window, shift, mergedFast);
        Assert.Equal(merged, mergedFast);
    }

    [Fact]
    public void WindowPartition_pads_shifts_and_cuts_as_described()
    {
        // A 3×5 map of one channel whose values are 10·row + column, windows of 2 shifted by 1: padded to 4×6 with zeros,
        // rolled so that padded[(y + 1) mod 4, (x + 1) mod 6] lands at (y, x), then cut into six 2×2 windows.
        var x = new Tensor(Enumerable.Range(0, 15).Select(i => (float)(10 * (i / 5) + i % 5)).ToArray(), 1, 3, 5, 1);
        foreach (bool force in new[] { false, true })
        {
            using var _ = new Options(1);
            KernelOptions.ForceReference = force;
            var windows = Ops.WindowPartition(x, 2, 1);
            Assert.Equal([6, 4, 1], windows.Shape);
            float[][] expected =
            [
                [11, 12, 21, 22], [13, 14, 23, 24], [0, 10, 0, 20],
                [0, 0, 1, 2], [0, 0, 3, 4], [0, 0, 0, 0],
            ];
            for (int w = 0; w < 6; w++) Assert.Equal(expected[w], windows.Data.AsSpan(w * 4, 4).ToArray());
            // Merging undoes it: the map comes back, the padding dropped.
            Assert.Equal(x.Data, Ops.WindowMerge(windows, 2, 3, 5, 1).Data);
        }
    }

    public static TheoryData<int, int, int, int, bool, int> AttentionCases() => new()
    {
        // windows, window side, heads, head width, mask, threads
        { 1, 1, 1, 1, false, 1 },
        { 1, 2, 1, 3, true, 1 },
        { 4, 3, 2, 5, true, 2 },
        { 2, 7, 3, 17, true, 2 },
        { 6, 4, 1, 12, true, 1 },
        { 1, 9, 2, 32, false, 2 },
        { 4, 8, 3, 32, true, 2 },
        { 2, 11, 2, 7, true, 2 },
        { 1, 16, 4, 32, false, 2 },
    };

    [Theory]
    [MemberData(nameof(AttentionCases))]
    public void WindowAttention_matches_reference(int windows, int side, int heads, int headDim, bool mask, int threads)
    {
        using var _ = new Options(threads);
        int n = side * side, width = heads * headDim;
        var q = Random(51, (long)windows * n * width, 3f);
        var k = Random(52, (long)windows * n * width, 3f);
        var v = Random(53, (long)windows * n * width);
        // Zero keys and queries, as the padding of a map gives (its keys have no bias): their cosines are 0.
        for (int d = 0; d < width; d++) k[(n - 1) * width + d] = q[(n - 1) * width + d] = 0f;
        // Up to exp(log 100): the scale Swin V2's clamp allows, which sharpens the softmax most.
        var scales = Enumerable.Range(0, heads).Select(h => h % 2 == 0 ? 100f : 10f / (h + 1)).ToArray();
        int side2 = 2 * side - 1, entries = side2 * side2;
        var table = Random(54, (long)heads * entries, 8f);
        var index = RandomIndex(55, n * n, entries);
        // Two windows' worth of region labels: the second window of each pair is split into three regions.
        int[] regions = mask ? Enumerable.Range(0, 2 * n).Select(t => t < n ? 4 : t % 3).ToArray() : [];
        if (mask && windows % 2 != 0) regions = regions[n..];
        var expected = new float[q.Length];
        var actual = new float[q.Length];
        Reference.WindowAttention(q, k, v, windows, n, heads, headDim, scales, table, entries, index, regions, -200f, expected);
        Fast.WindowAttention(q, k, v, windows, n, heads, headDim, scales, table, entries, index, regions, -200f, actual);
        AssertClose(expected, actual, n + headDim, $"window attention W={windows} n={n} H={heads} D={headDim} mask={mask} T={threads}");
    }

    private static int[] RandomIndex(int seed, int count, int entries)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(entries)).ToArray();
    }

    [Fact]
    public void WindowAttention_scores_cosines_scaled_plus_bias_and_mask()
    {
        // One window of two tokens, one head of width 2: the output is a mix of the two values with weight σ(s₀ − s₁) on
        // the first. Queries and keys of any length give the same cosines.
        var q = new Tensor([3f, 0f, 0f, 0.5f], 1, 2, 2);
        var k = new Tensor([2f, 0f, 1f, 1f], 1, 2, 2);
        var v = new Tensor([10f, 20f, 30f, 40f], 1, 2, 2);
        var table = new Tensor([0.5f, -1f, 2f], 1, 3);
        int[] keyMajor = [0, 2, 1, 0]; // bias[i=0, j=0] = 0.5, [1, 0] = 2, [0, 1] = -1, [1, 1] = 0.5
        static float Mix(float w0, float a, float b) => w0 * a + (1 - w0) * b;
        static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
        float c = MathF.Sqrt(0.5f); // cos 45°
        foreach (bool force in new[] { false, true })
        {
            using var _ = new Options(1);
            KernelOptions.ForceReference = force;
            var y = Ops.WindowAttention(q, k, v, 1, [4f], table, keyMajor, null, -200f);
            // Query 0 (along x): cosines (1, c) → scores (4 + 0.5, 4c − 1); query 1 (along y): (0, c) → (0 + 2, 4c + 0.5).
            float w0 = Sigmoid(4.5f - (4 * c - 1)), w1 = Sigmoid(2f - (4 * c + 0.5f));
            float[] expected = [Mix(w0, 10, 30), Mix(w0, 20, 40), Mix(w1, 10, 30), Mix(w1, 20, 40)];
            for (int i = 0; i < 4; i++) Assert.Equal(expected[i], y.Data[i], 1e-4f);
            // Tokens in different regions: each query sees only itself.
            var masked = Ops.WindowAttention(q, k, v, 1, [4f], table, keyMajor, [0, 1], -200f);
            Assert.Equal(v.Data, masked.Data);
        }
    }

    [Fact]
    public void WindowOps_refuse_shapes_that_do_not_fit()
    {
        var x = Tensor.Zeros(2, 4, 3 * 8);
        int[] index = new int[16];
        var table = Tensor.Zeros(3, 9);
        float[] scales = [1f, 1f, 1f];
        Assert.Throws<ArgumentException>(() => Ops.WindowAttention(x, x, x, 3, [1f, 1f], table, index, null, -200f));
        Assert.Throws<ArgumentException>(() => Ops.WindowAttention(x, x, x, 3, scales, Tensor.Zeros(2, 9), index, null, -200f));
        Assert.Throws<ArgumentException>(() => Ops.WindowAttention(x, x, x, 3, scales, table, new int[15], null, -200f));
        Assert.Throws<ArgumentException>(() => Ops.WindowAttention(x, x, x, 3, scales, table, index, new int[6], -200f));
        Assert.Throws<ArgumentException>(() => Ops.WindowAttention(x, x, x, 3, scales, table, index, new int[12], -200f));
        using (new Options(1))
        {
            var outside = new int[16];
            outside[5] = 9;
            Assert.Throws<ArgumentException>(() => Ops.WindowAttention(x, x, x, 3, scales, table, outside, null, -200f));
        }
        Assert.Throws<ArgumentException>(() => Ops.WindowPartition(Tensor.Zeros(1, 4, 4, 2), 2, 2));
        Assert.Throws<ArgumentException>(() => Ops.WindowPartition(Tensor.Zeros(4, 4, 2), 2, 0));
        Assert.Throws<ArgumentException>(() => Ops.WindowMerge(Tensor.Zeros(5, 4, 2), 2, 4, 4, 0));
        Assert.Throws<ArgumentException>(() => Ops.WindowMerge(Tensor.Zeros(4, 9, 2), 2, 4, 4, 0));
    }

    [Fact]
    public void PadEnd_appends_zeros_to_one_dimension()
    {
        var x = new Tensor([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Assert.Equal([1f, 2f, 3f, 0f, 0f, 4f, 5f, 6f, 0f, 0f], Ops.PadEnd(x, 1, 2).Data);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f, 0f, 0f, 0f], Ops.PadEnd(x, 0, 1).Data);
        Assert.Equal(x.Data, Ops.PadEnd(x, -1, 0).Data);
        Assert.Throws<ArgumentException>(() => Ops.PadEnd(x, 2, 1));
        Assert.Throws<ArgumentException>(() => Ops.PadEnd(x, 0, -1));
    }
}
