using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>
/// Attention with a gathered relative position bias against its reference loop, with the tolerance rule of
/// <see cref="KernelEquivalenceTests"/>: max|Δ| ≤ 2e-6 · √k · (1 + max|ref|).
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class AttentionWithBiasTests
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
}
