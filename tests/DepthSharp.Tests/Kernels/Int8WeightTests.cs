using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>8-bit linear weights: the quantisation's bounds, and the fast GEMM against the reference on the dequantised weight.</summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class Int8WeightTests
{
    [Fact]
    public void Quantisation_is_symmetric_per_output_row_within_half_a_step()
    {
        int outF = 5, inF = 37;
        var w = Random(11, (long)outF * inF, 3f);
        for (int i = 0; i < inF; i++) w[2 * inF + i] = 0f; // an all-zero row
        w[3 * inF + 4] = -9f; // a row whose largest magnitude is negative
        var q = Int8Weight.Quantize(new Tensor(w, outF, inF));
        Assert.Equal(0f, q.Scales[2]);
        for (int o = 0; o < outF; o++)
        {
            float max = 0;
            for (int i = 0; i < inF; i++) max = Math.Max(max, Math.Abs(w[o * inF + i]));
            Assert.Equal(max / 127f, q.Scales[o]);
            for (int i = 0; i < inF; i++)
            {
                sbyte v = q.Values[i * outF + o];
                Assert.InRange(v, (sbyte)-127, (sbyte)127);
                // Round to nearest: within half a step (and a float rounding of the product) of the weight.
                Assert.True(Math.Abs(v * q.Scales[o] - w[o * inF + i]) <= q.Scales[o] * 0.5f * (1 + 1e-5f),
                    $"w[{o},{i}] = {w[o * inF + i]} came back as {v} × {q.Scales[o]}");
            }
        }
        Assert.Equal(-127, q.Values[4 * outF + 3]);
        // The reference path's weight is exactly the dequantised values.
        var wT = q.ToWeightT();
        for (int i = 0; i < inF; i++)
            for (int o = 0; o < outF; o++) Assert.Equal(q.Values[i * outF + o] * q.Scales[o], wT.Data[i * outF + o]);
    }

    [Fact]
    public void Quantisation_rejects_non_finite_weights()
    {
        var w = new float[] { 1f, float.NaN, 0f, 2f };
        var e = Assert.Throws<ArgumentException>(() => Int8Weight.Quantize(new Tensor(w, 2, 2)));
        Assert.Contains("row 0", e.Message);
    }

    [Theory]
    [InlineData(1, 1, 1, true, 1)]
    [InlineData(3, 33, 63, true, 1)] // a sliver and a 31-wide tail
    [InlineData(65, 64, 65, false, 2)]
    [InlineData(300, 1100, 70, true, 2)] // two K slices
    [InlineData(29, 1000, 97, true, 2)] // few rows: the threads split N
    public void Int8Linear_matches_the_reference_on_the_dequantised_weight(int rows, int inF, int outF, bool withBias, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(5, (long)rows * inF);
        var q = Int8Weight.Quantize(new Tensor(Random(6, (long)outF * inF), outF, inF));
        var dequantised = new float[(long)inF * outF];
        for (int i = 0; i < inF; i++)
            for (int o = 0; o < outF; o++) dequantised[i * outF + o] = q.Values[i * outF + o] * q.Scales[o];
        var bias = withBias ? Random(7, outF) : [];
        var expected = new float[rows * outF];
        var actual = new float[rows * outF];
        Reference.LinearWeightT(x, rows, inF, dequantised, bias, outF, expected);
        Fast.LinearInt8(x, rows, inF, q.Values, q.Scales, bias, outF, actual);
        AssertClose(expected, actual, inF, $"int8 linear {rows}x{inF}->{outF} bias={withBias} T={threads}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(HalfKind.BF16)]
    // HalfKind is internal, and xUnit's theories are public methods: the format comes boxed.
    public void A_quantising_source_gives_linear_layers_8_bit_weights_from_any_stored_format(object? storedFormat)
    {
        var stored = (HalfKind?)storedFormat;
        using var _ = new Options(2);
        var plain = new Linear(new Weights(new RandomWeights(3, stored))["fc"], 40, 50);
        var quantised = new Linear(new Weights(new Int8LinearWeights(new RandomWeights(3, stored)))["fc"], 40, 50);
        Assert.NotNull(quantised.Int8WeightT);
        Assert.Null(quantised.Weight);
        Assert.Null(quantised.HalfWeightT);
        var x = new Tensor(Random(8, 7 * 40), 7, 40);
        var exact = plain.Forward(x);
        var fast = quantised.Forward(x);
        Tensor reference;
        using (KernelOptions.UseReference(true)) reference = quantised.Forward(x);
        AssertClose(reference.Data, fast.Data, 40, "int8 linear layer, fast against reference");
        // The same layer as its float weights, up to the weights' rounding: each output moves by at most
        // Σ_i |x_i| · step/2, far less than the output itself here.
        double diff = 0, norm = 0;
        for (int i = 0; i < exact.Data.Length; i++)
        {
            diff += Math.Pow(exact.Data[i] - fast.Data[i], 2);
            norm += Math.Pow(exact.Data[i], 2);
        }
        Assert.InRange(Math.Sqrt(diff / norm), 1e-5, 2e-2);
    }
}
