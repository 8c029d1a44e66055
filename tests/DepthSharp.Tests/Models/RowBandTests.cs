using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Models;

/// <summary>
/// Work done in bands of rows against the same work on the whole map. A band is convolved on its own, and the kernels may
/// tile it differently or pick another algorithm (Winograd needs at least 25 4×4 tiles: the 31×13 maps here get it whole,
/// their bands of a few rows do not), so the two agree to float rounding rather than bit for bit: within 1e-5 of the
/// largest output, as for the head's bands.
/// </summary>
public class RowBandTests
{
    private const int Channels = 16;

    [Fact]
    public void SlicesAreCopiedAndAddedAlongAnyDimension()
    {
        var src = Sequence(2, 3, 4, 5);
        var dst = Tensor.Zeros(2, 3, 6, 5);
        Ops.CopySlice(src, 1, dst, 2, 2, 3);
        Ops.AddSliceInPlace(src, 0, dst, 4, 2, 2);
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 6; y++)
                    for (int x = 0; x < 5; x++)
                    {
                        float expected = (y is >= 2 and < 5 ? At(src, b, c, y - 1, x) : 0) + (y >= 4 ? At(src, b, c, y - 4, x) : 0);
                        Assert.Equal(expected, At(dst, b, c, y, x));
                    }

        var channels = Tensor.Zeros(2, 5, 4, 5);
        Ops.CopySlice(src, 1, channels, 3, -3, 2);
        Assert.Equal(At(src, 1, 2, 3, 4), At(channels, 1, 4, 3, 4));
        Assert.Equal(0, At(channels, 1, 2, 3, 4));

        Assert.Throws<ArgumentException>(() => Ops.CopySlice(src, 2, dst, 0, 2, 3)); // past the source's end
        Assert.Throws<ArgumentException>(() => Ops.AddSliceInPlace(src, 0, dst, 4, 2, 3)); // past the destination's end
        Assert.Throws<ArgumentException>(() => Ops.CopySlice(src, 0, Tensor.Zeros(2, 3, 6, 4), 0, 2, 1)); // other widths
    }

    [Theory]
    [InlineData(false, 31, 13)]
    [InlineData(false, 7, 3)]
    [InlineData(true, 31, 13)]
    [InlineData(true, 6, 5)]
    public void ResidualUnitInRowBandsEqualsTheWholeMap(bool batchNorm, int h, int w)
    {
        var unit = new PreActResidualLayer(new Weights(new AllRandom(1)), Channels, new ResidualUnitStyle(batchNorm, Bias: true));
        var x = Random(2, Channels, h, w, seed: 2);
        var whole = unit.Forward(x);
        foreach (int rows in new[] { 1, 2, 3 })
        {
            // Written over the input: each band reads the rows above it as they were before the band above overwrote them.
            var input = x.Clone();
            Assert.Same(input, unit.ForwardInBands(input, rows));
            AssertClose(whole, input, $"bands of {rows} rows");
        }
    }

    [Theory]
    [InlineData(11, 7)]
    [InlineData(2, 3)]
    public void PointwiseConvolutionOverItsInputInRowBandsEqualsTheWholeMap(int h, int w)
    {
        var conv = new Conv2d(new Weights(new AllRandom(4)), Channels, Channels, 1);
        var x = Random(2, Channels, h, w, seed: 5);
        var whole = conv.Forward(x);
        foreach (int rows in new[] { 1, 2, 3 })
        {
            var input = x.Clone();
            var banded = conv.ForwardInPlace(input, rows);
            Assert.Same(input, banded);
            AssertClose(whole, banded, $"bands of {rows} rows");
        }
        var spatial = new Conv2d(new Weights(new AllRandom(4)), Channels, Channels, 3, 1, 1);
        Assert.Throws<InvalidOperationException>(() => spatial.ForwardInPlace(x.Clone(), 1));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(true, false)]
    public void FusionLayerInRowBandsEqualsTheWholeMap(bool batchNorm, bool deconv)
    {
        // The reference's default: no convolution bias beside batch norm.
        var config = new DepthProConfig { FusionHiddenSize = Channels, UseBatchNormInFusionResidual = batchNorm, UseBiasInFusionResidual = batchNorm ? null : true };
        var layer = new DepthProFeatureFusionLayer(new Weights(new AllRandom(6)), config, deconv);
        const int h = 31, w = 13;
        var fused = Random(2, Channels, h, w, seed: 7);
        var residual = Random(2, Channels, h, w, seed: 8);
        layer.BandBytes = long.MaxValue;
        var whole = layer.Forward(fused.Clone(), residual.Clone(), consumeInputs: true);
        var wholeFirst = layer.Forward(fused.Clone());
        long row = 2L * Channels * w * sizeof(float);
        foreach (int rows in new[] { 1, 2, 3 })
        {
            // The residual unit's bands are read with four more rows; the projection's take the whole budget, rows of the
            // deconvolved map being twice as wide.
            layer.BandBytes = row * (rows + 4);
            AssertClose(whole, layer.Forward(fused.Clone(), residual.Clone(), consumeInputs: true), $"bands of {rows} rows");
            AssertClose(wholeFirst, layer.Forward(fused.Clone()), $"bands of {rows} rows, no residual");
        }
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void FusionLayerOutputAddedInRowBandsEqualsTheWholeOutput(bool batchNorm, bool deconv)
    {
        var config = new DepthProConfig { FusionHiddenSize = Channels, UseBatchNormInFusionResidual = batchNorm };
        var layer = new DepthProFeatureFusionLayer(new Weights(new AllRandom(9)), config, deconv);
        int scale = deconv ? 2 : 1;
        var refined = Random(2, Channels, 9, 5, seed: 10);
        var target = Random(2, Channels, 9 * scale, 5 * scale, seed: 11);
        layer.BandBytes = long.MaxValue;
        var expected = layer.Output(refined.Clone());
        Ops.AddInPlace(expected, target);
        foreach (int rows in new[] { 1, 2, 3 })
        {
            // Bands of the output: the deconvolution makes two of its rows from each refined row.
            layer.BandBytes = RowBytes(target) * rows * scale;
            var added = target.Clone();
            layer.AddOutput(refined.Clone(), added);
            AssertClose(expected, added, $"bands of {rows} refined rows");
        }
        Assert.Throws<ArgumentException>(() => layer.AddOutput(refined.Clone(), Random(2, Channels, 9 * scale + 1, 5 * scale, seed: 12)));
    }

    /// <summary>The stage adds its last intermediate layer's output into the final layer in bands unless the outputs are observed.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FusionStageInRowBandsEqualsTheWholeMaps(bool batchNorm)
    {
        var config = new DepthProConfig
        {
            FusionHiddenSize = Channels, UseBatchNormInFusionResidual = batchNorm, UseBiasInFusionResidual = batchNorm ? null : true,
            IntermediateHookIds = [1], IntermediateFeatureDims = [Channels], ScaledImagesRatios = [0.5, 1], ScaledImagesOverlapRatios = [0, 0.5],
            ScaledImagesFeatureDims = [Channels, Channels],
        };
        var stage = new DepthProFeatureFusionStage(new Weights(new AllRandom(13)), config);
        Assert.Equal(2, stage.Intermediate.Length);
        List<Tensor> Inputs() => [Random(2, Channels, 4, 3, seed: 14), Random(2, Channels, 8, 6, seed: 15), Random(2, Channels, 16, 12, seed: 16)];
        var context = new ForwardContext(10);
        var outputs = new List<Tensor>();
        // Observed, every layer's output is made whole.
        var whole = stage.Forward(Inputs(), context, outputs);
        AssertClose(whole, outputs[^1], "the returned and the collected output");
        foreach (var layer in stage.Intermediate.Append(stage.Final)) layer.BandBytes = 1; // bands of one row
        AssertClose(whole, stage.Forward(Inputs(), context), "one-row bands");
    }

    private static long RowBytes(Tensor map) => (long)map.Dim(0) * map.Dim(1) * map.Dim(3) * sizeof(float);

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double scale = expected.Data.Max(MathF.Abs);
        Assert.True(scale > 0);
        double maxDiff = expected.Data.Zip(actual.Data, (p, q) => Math.Abs(p - q)).Max();
        Assert.True(maxDiff <= 1e-5 * scale, $"{what}: max |Δ| {maxDiff:E3} vs scale {scale:E3}");
    }

    private static float At(Tensor t, int b, int c, int y, int x) => t.Data[((b * t.Dim(1) + c) * t.Dim(2) + y) * t.Dim(3) + x];

    private static Tensor Sequence(params int[] shape)
    {
        var t = Tensor.Empty(shape);
        for (int i = 0; i < t.Data.Length; i++) t.Data[i] = i + 1;
        return t;
    }

    private static Tensor Random(int b, int c, int h, int w, int seed)
    {
        var rng = new Random(seed);
        var t = Tensor.Empty(b, c, h, w);
        for (int i = 0; i < t.Data.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    /// <summary>Every parameter random (biases and batch-norm statistics too), so no term is trivially zero or one.</summary>
    private sealed class AllRandom(int seed) : IWeightSource
    {
        private readonly Random _rng = new(seed);

        public Tensor Get(string name, int[] shape)
        {
            var t = new Tensor(new float[Tensor.ShapeSize(shape)], shape);
            bool variance = name.EndsWith("running_var", StringComparison.Ordinal);
            // Kernels scaled by their fan-in keep the outputs of stacked convolutions near the inputs' size.
            double scale = shape.Length == 4 ? 1 / Math.Sqrt(shape[1] * shape[2] * shape[3]) : 1;
            for (int i = 0; i < t.Data.Length; i++)
                t.Data[i] = variance ? (float)(0.5 + _rng.NextDouble()) : (float)((_rng.NextDouble() * 2 - 1) * scale);
            return t;
        }
    }
}
