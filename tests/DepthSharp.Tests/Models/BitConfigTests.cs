using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Models;

/// <summary>BiT backbone configs: the reference's defaults, bad values refused by field, and the preactivation layout.</summary>
public sealed class BitConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-bit-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string json)
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void TheHybridFixtureLoads()
    {
        var c = BackboneConfigFiles.Bit(Fixtures.Path("models", "dpt_hybrid_tiny", "config.json"));
        Assert.Equal(BitLayerType.Bottleneck, c.LayerType);
        Assert.Equal(BitPadding.Same, c.Padding);
        Assert.Equal(HiddenAct.Relu, c.HiddenAct);
        Assert.Equal([1, 2, 3], c.OutStageIndices);
        Assert.Equal([(1, 1), (2, 1), (2, 1)], c.StageLayout());
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        var c = BackboneConfigFiles.Bit(Write("""{"model_type": "dpt", "backbone_config": {"model_type": "bit"}}"""));
        Assert.Equal(BitLayerType.Preactivation, c.LayerType);
        Assert.Equal(BitPadding.Symmetric, c.Padding);
        Assert.Equal(64, c.EmbeddingSize);
        Assert.Equal([3, 4, 6, 3], c.Depths);
        Assert.Equal([256, 512, 1024, 2048], Enumerable.Range(0, c.NumStages).Select(c.StageChannels));
        Assert.Equal(32, c.NumGroups);
        Assert.False(c.EmbeddingDynamicPadding);
        // Neither out_features nor out_indices: the last stage.
        Assert.Equal([4], c.OutStageIndices);
    }

    [Fact]
    public void GlobalPaddingIsCaseInsensitiveAsTheReferenceUppercasesIt()
    {
        var c = BackboneConfigFiles.Bit(Write("""{"backbone_config": {"global_padding": "same"}}"""));
        Assert.Equal(BitPadding.Same, c.Padding);
    }

    [Fact]
    public void OutputStrideDilatesTheStagesPastIt()
    {
        // Reduction 4 after the stem; stage 1 keeps it, stage 2 takes it to 8, and from there the stages dilate.
        var c = BackboneConfigFiles.Bit(Write("""{"backbone_config": {"output_stride": 8}}"""));
        Assert.Equal([(1, 1), (2, 1), (1, 2), (1, 4)], c.StageLayout());
    }

    [Theory]
    [InlineData("\"layer_type\": \"bottleneck\"", "\"layer_type\": \"resnet\"", "layer_type")]
    [InlineData("\"global_padding\": \"SAME\"", "\"global_padding\": \"REFLECT\"", "global_padding")]
    [InlineData("\"global_padding\": \"SAME\"", "\"global_padding\": \"VALID\"", "global_padding")]
    [InlineData("\"hidden_act\": \"relu\"", "\"hidden_act\": \"gelu_new\"", "hidden_act")]
    [InlineData("\"num_groups\": 4", "\"num_groups\": 5", "num_groups")]
    [InlineData("\"num_groups\": 4", "\"num_groups\": 0", "num_groups")]
    [InlineData("\"num_groups\": 4", "\"num_groups\": \"four\"", "num_groups")]
    [InlineData("\"embedding_size\": 8", "\"embedding_size\": 6", "num_groups")]
    [InlineData("\"embedding_size\": 8", "\"embedding_size\": 0", "embedding_size")]
    [InlineData("\"depths\": [\n      1,\n      1,", "\"depths\": [\n      1,\n      0,", "depths")]
    [InlineData("\"depths\": [\n      1,\n      1,\n      1\n    ]", "\"depths\": []", "depths")]
    [InlineData("\"hidden_sizes\": [\n      16,\n      24,\n      32\n    ]", "\"hidden_sizes\": [\n      16,\n      24\n    ]", "hidden_sizes")]
    [InlineData("\"hidden_sizes\": [\n      16,", "\"hidden_sizes\": [\n      -16,", "hidden_sizes")]
    [InlineData("\"width_factor\": 1", "\"width_factor\": 0", "width_factor")]
    [InlineData("\"output_stride\": 32", "\"output_stride\": 0", "output_stride")]
    [InlineData("\"out_features\": [\n      \"stage1\",", "\"out_features\": [\n      \"stage7\",", "out_features")]
    [InlineData("\"out_indices\": [\n      1,", "\"out_indices\": [\n      0,", "out_indices")]
    [InlineData("\"out_indices\": [\n      1,", "\"out_indices\": [\n      9,", "out_indices")]
    [InlineData("\"model_type\": \"bit\"", "\"model_type\": \"resnet\"", "model_type")]
    [InlineData("\"num_channels\": 3,\n    \"num_groups\"", "\"num_channels\": 0,\n    \"num_groups\"", "num_channels")]
    public void ImpossibleBackboneValuesAreRefusedWithTheField(string from, string to, string field)
    {
        string text = File.ReadAllText(Fixtures.Path("models", "dpt_hybrid_tiny", "config.json"));
        Assert.Contains(from, text);
        var e = Assert.Throws<ConfigException>(() => BackboneConfigFiles.Bit(Write(text.Replace(from, to))));
        Assert.Contains("config.json", e.Message);
        Assert.Contains($"backbone_config.{field}:", e.Message);
    }

    [Fact]
    public void AHybridConfigWithoutABackboneConfigGetsTheReferenceDefaultBiT()
    {
        var dpt = DPTConfig.Load(Write("""{"model_type": "dpt", "is_hybrid": true, "neck_hidden_sizes": [256, 512, 768, 768]}"""));
        var c = Assert.IsType<BitConfig>(dpt.BackboneModel);
        Assert.Equal(BitLayerType.Bottleneck, c.LayerType);
        Assert.Equal(BitPadding.Same, c.Padding);
        Assert.True(c.EmbeddingDynamicPadding);
        Assert.Equal([3, 4, 9], c.Depths);
        Assert.Equal([1, 2, 3], c.OutStageIndices);
        // Intel/dpt-hybrid-midas's layers: the BiT's two maps, then ViT layers 8 and 11 of backbone_out_indices [2, 5, 8, 11].
        Assert.Equal([8, 11], dpt.SelectedLayers);
    }

    [Fact]
    public void DilationBeyondTheSupportedIsRefused()
    {
        // Four stages past output stride 1 would dilate the last by 8 at most; seven go to 64.
        var e = Assert.Throws<ConfigException>(() => BackboneConfigFiles.Bit(Write(
            """{"backbone_config": {"output_stride": 1, "depths": [1, 1, 1, 1, 1, 1, 1], "hidden_sizes": [8, 8, 8, 8, 8, 8, 8], "num_groups": 1}}""")));
        Assert.Contains("backbone_config.output_stride:", e.Message);
    }

    [Fact]
    public void APreactivationFinalNormThatDoesNotFitTheLastStageIsRefused()
    {
        // Three stages take hidden_sizes[0..2]; the final norm is sized by hidden_sizes[-1], 2048, on 1024 channels.
        var e = Assert.Throws<ConfigException>(() => BackboneConfigFiles.Bit(Write("""{"backbone_config": {"depths": [3, 4, 9]}}""")));
        Assert.Contains("backbone_config.hidden_sizes:", e.Message);
    }

    private const string TinyPreactivation =
        """{"backbone_config": {"layer_type": "preactivation", "embedding_size": 8, "hidden_sizes": [16, 32], "depths": [1, 2], "num_groups": 4, "out_features": ["stem", "stage1", "stage2"]}}""";

    [Fact]
    public void APreactivationModelHoldsTheReferenceParameters()
    {
        var c = BackboneConfigFiles.Bit(Write(TinyPreactivation));
        var recorder = new ShapeRecorder();
        _ = new BitBackbone(new Weights(recorder), c);
        // The reference's preactivation modules: no norm in the stem, none in the shortcut, norm1..3 before conv1..3, a
        // final norm.
        var expected = new Dictionary<string, int[]>
        {
            ["bit.embedder.convolution.weight"] = [8, 3, 7, 7],
            ["bit.encoder.stages.0.layers.0.downsample.conv.weight"] = [16, 8, 1, 1],
            ["bit.encoder.stages.0.layers.0.norm1.weight"] = [8],
            ["bit.encoder.stages.0.layers.0.norm1.bias"] = [8],
            ["bit.encoder.stages.0.layers.0.conv1.weight"] = [8, 8, 1, 1],
            ["bit.encoder.stages.0.layers.0.norm2.weight"] = [8],
            ["bit.encoder.stages.0.layers.0.norm2.bias"] = [8],
            ["bit.encoder.stages.0.layers.0.conv2.weight"] = [8, 8, 3, 3],
            ["bit.encoder.stages.0.layers.0.norm3.weight"] = [8],
            ["bit.encoder.stages.0.layers.0.norm3.bias"] = [8],
            ["bit.encoder.stages.0.layers.0.conv3.weight"] = [16, 8, 1, 1],
            ["bit.encoder.stages.1.layers.0.downsample.conv.weight"] = [32, 16, 1, 1],
            ["bit.encoder.stages.1.layers.0.norm1.weight"] = [16],
            ["bit.encoder.stages.1.layers.0.norm1.bias"] = [16],
            ["bit.encoder.stages.1.layers.0.conv1.weight"] = [8, 16, 1, 1],
            ["bit.encoder.stages.1.layers.0.norm2.weight"] = [8],
            ["bit.encoder.stages.1.layers.0.norm2.bias"] = [8],
            ["bit.encoder.stages.1.layers.0.conv2.weight"] = [8, 8, 3, 3],
            ["bit.encoder.stages.1.layers.0.norm3.weight"] = [8],
            ["bit.encoder.stages.1.layers.0.norm3.bias"] = [8],
            ["bit.encoder.stages.1.layers.0.conv3.weight"] = [32, 8, 1, 1],
            ["bit.encoder.stages.1.layers.1.norm1.weight"] = [32],
            ["bit.encoder.stages.1.layers.1.norm1.bias"] = [32],
            ["bit.encoder.stages.1.layers.1.conv1.weight"] = [8, 32, 1, 1],
            ["bit.encoder.stages.1.layers.1.norm2.weight"] = [8],
            ["bit.encoder.stages.1.layers.1.norm2.bias"] = [8],
            ["bit.encoder.stages.1.layers.1.conv2.weight"] = [8, 8, 3, 3],
            ["bit.encoder.stages.1.layers.1.norm3.weight"] = [8],
            ["bit.encoder.stages.1.layers.1.norm3.bias"] = [8],
            ["bit.encoder.stages.1.layers.1.conv3.weight"] = [32, 8, 1, 1],
            ["bit.norm.weight"] = [32],
            ["bit.norm.bias"] = [32],
        };
        Assert.Equal(expected.Keys.Order(), recorder.Shapes.Keys.Order());
        foreach (var (name, shape) in expected) Assert.Equal(shape, recorder.Shapes[name]);
    }

    [Fact]
    public void APreactivationModelWithSymmetricPaddingGivesTheReferenceSizes()
    {
        var c = BackboneConfigFiles.Bit(Write(TinyPreactivation));
        var backbone = new BitBackbone(new Weights(new RandomWeights(3)), c);
        var pixels = new Tensor(Kernels.KernelTestHelpers.Random(4, 3 * 64 * 48), 1, 3, 64, 48);
        var maps = backbone.Forward(pixels, new ForwardContext(backbone.ForwardSteps));
        // Stem: 7×7 stride 2 padded 3 → 32×24, a one-pixel border → 34×26, 3×3 stride 2 pooling → 16×12; stage 2 halves.
        Assert.Equal([1, 8, 16, 12], maps[0].Shape);
        Assert.Equal([1, 16, 16, 12], maps[1].Shape);
        Assert.Equal([1, 32, 8, 6], maps[2].Shape);
        Assert.All(maps, m => Assert.All(m.Data, v => Assert.True(float.IsFinite(v))));
    }
}
