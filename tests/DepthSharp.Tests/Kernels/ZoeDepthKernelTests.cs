using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>
/// The kernels ZoeDepth added (attention with a gathered relative position bias, softplus) against their reference loops, with the
/// tolerance rule of <see cref="KernelEquivalenceTests"/>: max|Δ| ≤ 2e-6 · √k · (1 + max|ref|).
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class ZoeDepthKernelTests
{
    [Theory]
    [InlineData(1, 1, 1, 1, 1, 1f, 1)]
    [InlineData(1, 1, 15, 1, 17, 0.25f, 2)]
    [InlineData(3, 17, 33, 2, 8, 0.35f, 1)]
    [InlineData(1, 65, 63, 3, 16, 0.25f, 2)]
    [InlineData(2, 129, 129, 2, 64, 0.125f, 2)]
    [InlineData(1, 200, 129, 4, 32, 0.2f, 1)]
    [InlineData(1, 769, 769, 2, 64, 0.125f, 2)]
    public void AttentionWithBias_matches_reference(int batch, int nq, int nk, int heads, int headDim, float scale, int threads)
    {
        using var _ = new Options(threads);
        int width = heads * headDim;
        var q = Random(21, (long)batch * nq * width, 3f);
        var k = Random(22, (long)batch * nk * width, 3f);
        var v = Random(23, (long)batch * nk * width);
        // A table large enough to reorder the softmax, as relative position tables do, and indices anywhere in it.
        const int entries = 37;
        var table = Random(24, (long)heads * entries, 4f);
        var rng = new Random(25);
        var index = new int[nq * nk];
        for (int i = 0; i < index.Length; i++) index[i] = rng.Next(entries);
        var expected = new float[q.Length];
        var actual = new float[q.Length];
        Reference.AttentionWithBias(q, k, v, table, entries, index, batch, nq, nk, heads, headDim, scale, expected);
        Fast.AttentionWithBias(q, k, v, table, entries, index, batch, nq, nk, heads, headDim, scale, actual);
        AssertClose(expected, actual, nk + headDim, $"biased attention B={batch} Nq={nq} Nk={nk} H={heads} D={headDim} T={threads}");
    }

    [Fact]
    public void AttentionWithBias_equals_adding_the_gathered_bias_to_the_scores()
    {
        // One key per query makes the softmax trivial; with two keys the output is a sigmoid of the score difference,
        // which the bias shifts: check against that closed form.
        var q = new Tensor([1f, 0f, 0f, 1f], 1, 2, 2);
        var k = new Tensor([1f, 0f, 0f, 1f], 1, 2, 2);
        var v = new Tensor([10f, 20f, 30f, 40f], 1, 2, 2);
        var table = new Tensor([0.5f, -1f, 2f], 1, 3);
        int[] keyMajor = [0, 2, 1, 0]; // bias[i=0, j=0] = 0.5, [1, 0] = 2, [0, 1] = -1, [1, 1] = 0.5
        var y = Ops.Attention(q, k, v, 1, 1f, table, keyMajor);
        // Query 0: scores (1 + 0.5, 0 - 1) → weight on key 0 = σ(2.5); query 1: (0 + 2, 1 + 0.5) → σ(0.5).
        static float Mix(float w0, float a, float b) => w0 * a + (1 - w0) * b;
        static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
        float[] expected = [Mix(Sigmoid(2.5f), 10, 30), Mix(Sigmoid(2.5f), 20, 40), Mix(Sigmoid(0.5f), 10, 30), Mix(Sigmoid(0.5f), 20, 40)];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], y.Data[i], 1e-4f);
    }

    [Fact]
    public void AttentionWithZeroBias_is_plain_attention()
    {
        using var _ = new Options(2);
        var q = new Tensor(Random(31, 2 * 40 * 32, 2f), 2, 40, 32);
        var k = new Tensor(Random(32, 2 * 50 * 32, 2f), 2, 50, 32);
        var v = new Tensor(Random(33, 2 * 50 * 32), 2, 50, 32);
        var plain = Ops.Attention(q, k, v, 4, 0.3f);
        var biased = Ops.Attention(q, k, v, 4, 0.3f, Tensor.Zeros(4, 5), new int[40 * 50]);
        AssertClose(plain.Data, biased.Data, 50 + 8, "zero bias");
        Assert.Throws<ArgumentException>(() => Ops.Attention(q, k, v, 4, 0.3f, Tensor.Zeros(4, 5), new int[40 * 49]));
        Assert.Throws<ArgumentException>(() => Ops.Attention(q, k, v, 4, 0.3f, Tensor.Zeros(3, 5), new int[40 * 50]));
        var outside = new int[40 * 50];
        outside[1234] = 5;
        Assert.Throws<ArgumentException>(() => Ops.Attention(q, k, v, 4, 0.3f, Tensor.Zeros(4, 5), outside));
    }

    [Theory]
    [InlineData(1, 1, 64, 1)]
    [InlineData(2, 17, 3, 2)]
    [InlineData(1, 255, 64, 2)]
    [InlineData(2, 257, 64, 1)]
    [InlineData(1, 1000, 1, 2)]
    public void LogBinomialSoftmax_matches_reference(int batch, int plane, int bins, int threads)
    {
        using var _ = new Options(threads);
        // Softplus outputs are positive; spread them so that p and the temperature cover their ranges.
        var pt = Random(26, (long)batch * 4 * plane, 5f).Select(MathF.Abs).ToArray();
        var logBinom = Random(27, bins, 20f);
        float[] expected = new float[batch * bins * plane], actual = new float[batch * bins * plane];
        Reference.LogBinomialSoftmax(pt, batch, plane, logBinom, 0.0212f, 50f - 0.0212f, expected);
        Fast.LogBinomialSoftmax(pt, batch, plane, logBinom, 0.0212f, 50f - 0.0212f, actual);
        AssertClose(expected, actual, bins, $"log-binomial softmax B={batch} plane={plane} K={bins} T={threads}");
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
            {
                double total = 0;
                for (int k = 0; k < bins; k++) total += actual[(b * bins + k) * plane + p];
                Assert.Equal(1.0, total, 1e-5);
            }
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1, false, 1)]
    [InlineData(2, 64, 17, 16, 2, true, 2)]
    [InlineData(1, 64, 257, 4, 1, false, 2)]
    [InlineData(2, 3, 1000, 8, 2, true, 1)]
    public void AttractorShift_matches_reference(int batch, int bins, int plane, int count, int stride, bool mean, int threads)
    {
        using var _ = new Options(threads);
        var centers = Random(28, (long)batch * bins * plane, 1f);
        var attractors = Random(29, (long)batch * count * stride * plane, 1f);
        float[] expected = new float[centers.Length], actual = new float[centers.Length];
        Reference.AttractorShift(centers, batch, bins, plane, attractors, count, stride, 1e-3f, 300f, mean, expected);
        Fast.AttractorShift(centers, batch, bins, plane, attractors, count, stride, 1e-3f, 300f, mean, actual);
        AssertClose(expected, actual, count, $"attractors B={batch} K={bins} plane={plane} n={count} T={threads}");
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 64, 33, 2)]
    [InlineData(1, 7, 1000, 2)]
    public void SortChannelsClamp_matches_reference(int batch, int channels, int plane, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(30, (long)batch * channels * plane, 1f);
        float[] expected = new float[x.Length], actual = new float[x.Length];
        Reference.SortChannelsClamp(x, batch, channels, plane, 10f, 0.5f, 0.5f, 8f, expected);
        Fast.SortChannelsClamp(x, batch, channels, plane, 10f, 0.5f, 0.5f, 8f, actual);
        Assert.Equal(expected, actual);
        // Sorted along the channels and inside the bounds.
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
                for (int k = 0; k < channels; k++)
                {
                    float v = actual[(b * channels + k) * plane + p];
                    Assert.InRange(v, 0.5f, 8f);
                    if (k > 0) Assert.True(actual[(b * channels + k - 1) * plane + p] <= v);
                }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(70001)]
    public void Softplus_matches_reference(int n)
    {
        using var _ = new Options(2);
        var x = Random(25, n, 40f);
        var expected = new float[n];
        var actual = new float[n];
        Reference.Softplus(x, expected);
        Fast.Softplus(x, actual);
        AssertClose(expected, actual, 1, $"softplus n={n}");
    }

    [Theory]
    [InlineData(0f, 0.6931472f)]
    [InlineData(25f, 25f)]
    [InlineData(-40f, 4.248354e-18f)]
    [InlineData(2f, 2.126928f)]
    public void Softplus_matches_exact_values(float x, float exact)
    {
        var y = new float[1];
        Reference.Softplus([x], y);
        Assert.Equal(exact, y[0], exact * 1e-6f);
    }
}
