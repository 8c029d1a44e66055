using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;

namespace DepthSharp.Tests.Models;

public sealed class Swinv2ConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-swinv2-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("Intel--dpt-swinv2-tiny-256")]
    [InlineData("Intel--dpt-swinv2-large-384")]
    public void TheBackboneAsksForExactlyTheReleasedTensors(string name)
    {
        string dir = Fixtures.Path("checkpoints", name);
        var recorder = new ShapeRecorder();
        _ = new Swinv2Backbone(new Weights(recorder)["backbone"], BackboneConfigFiles.Swinv2(Path.Combine(dir, "config.json")));

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "weights.json")));
        var expected = doc.RootElement.GetProperty("tensors").EnumerateObject()
            .Where(p => p.Name.StartsWith("backbone.", StringComparison.Ordinal))
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        Assert.NotEmpty(expected);
        var missing = expected.Keys.Except(recorder.Shapes.Keys).Order().ToList();
        var extra = recorder.Shapes.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"not built: {string.Join(", ", missing.Take(10))}; not in checkpoint: {string.Join(", ", extra.Take(10))}");
        foreach (var (tensor, shape) in expected)
            Assert.True(shape.SequenceEqual(recorder.Shapes[tensor]), $"{tensor}: built [{string.Join(", ", recorder.Shapes[tensor])}], checkpoint [{string.Join(", ", shape)}]");
    }

    [Theory]
    // image_size / patch = 64: maps 64, 32, 16, 8 against window 16.
    [InlineData("Intel--dpt-swinv2-tiny-256", new[] { 16, 16, 16, 8 }, new[] { 8, 8, 0, 0 })]
    // 384 / 4 = 96: maps 96, 48, 24, 12 against window 24.
    [InlineData("Intel--dpt-swinv2-large-384", new[] { 24, 24, 24, 12 }, new[] { 12, 12, 0, 0 })]
    public void ReleasedCheckpointsFixTheirWindowsFromTheImageSize(string name, int[] windows, int[] oddBlockShifts)
    {
        var config = BackboneConfigFiles.Swinv2(Fixtures.Path("checkpoints", name, "config.json"));
        for (int stage = 0; stage < 4; stage++)
        {
            int resolution = config.StageResolution(stage);
            Assert.Equal((windows[stage], 0), Swinv2Layer.ComputeWindowShift(resolution, config.WindowSize, 0));
            Assert.Equal((windows[stage], oddBlockShifts[stage]), Swinv2Layer.ComputeWindowShift(resolution, config.WindowSize, config.WindowSize / 2));
        }
        Assert.Equal([1, 2, 3, 4], config.OutStageIndices);
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "dpt", "backbone_config": {"model_type": "swinv2"}}""");
        var c = BackboneConfigFiles.Swinv2(path);
        Assert.Equal((224, 4, 3, 96, 7), (c.ImageSize, c.PatchSize, c.NumChannels, c.EmbedDim, c.WindowSize));
        Assert.Equal([2, 2, 6, 2], c.Depths);
        Assert.Equal([3, 6, 12, 24], c.NumHeads);
        Assert.Equal([0, 0, 0, 0], c.PretrainedWindowSizes);
        Assert.Equal((4.0, true, 1e-5), (c.MlpRatio, c.QkvBias, c.LayerNormEps));
        Assert.Equal(HiddenAct.Gelu, c.HiddenAct);
        Assert.Equal(768, c.HiddenSize);
        Assert.Equal([4], c.OutStageIndices);
    }

    [Fact]
    public void DerivedKeysAreIgnoredAndUnknownKeysKept()
    {
        string path = Path.Combine(_dir, "config.json");
        // The reference derives hidden_size (and stage_names) itself; a stored value does not override it.
        File.WriteAllText(path, """{"backbone_config": {"model_type": "swinv2", "hidden_size": 5, "stage_names": ["x"], "id2label": {"0": "a"}}}""");
        var c = BackboneConfigFiles.Swinv2(path);
        Assert.Equal(768, c.HiddenSize);
        Assert.Equal(["stem", "stage1", "stage2", "stage3", "stage4"], c.StageNames);
        Assert.Equal(["id2label"], c.Extra!.Keys);
    }

    [Theory]
    [InlineData("\"model_type\": \"swinv2\"", "\"model_type\": \"swin\"", "backbone_config.model_type")]
    [InlineData("\"embed_dim\": 12", "\"embed_dim\": 0", "backbone_config.embed_dim")]
    [InlineData("\"depths\": [\n      2,", "\"depths\": [\n      -2,", "backbone_config.depths")]
    [InlineData("\"num_heads\": [\n      1,", "\"num_heads\": [", "backbone_config.num_heads")]
    [InlineData("\"num_heads\": [\n      1,", "\"num_heads\": [\n      5,", "backbone_config.num_heads")]
    [InlineData("\"window_size\": 4", "\"window_size\": 0", "backbone_config.window_size")]
    [InlineData("\"window_size\": 4", "\"window_size\": \"four\"", "backbone_config.window_size")]
    [InlineData("\"image_size\": 64", "\"image_size\": 16", "backbone_config.image_size")]
    [InlineData("\"patch_size\": 4", "\"patch_size\": 0", "backbone_config.patch_size")]
    [InlineData("\"num_channels\": 3", "\"num_channels\": 0", "backbone_config.num_channels")]
    [InlineData("\"pretrained_window_sizes\": [\n      0,", "\"pretrained_window_sizes\": [", "backbone_config.pretrained_window_sizes")]
    [InlineData("\"pretrained_window_sizes\": [\n      0,", "\"pretrained_window_sizes\": [\n      1,", "backbone_config.pretrained_window_sizes")]
    [InlineData("\"mlp_ratio\": 4.0", "\"mlp_ratio\": 0.01", "backbone_config.mlp_ratio")]
    [InlineData("\"layer_norm_eps\": 1e-05", "\"layer_norm_eps\": 0", "backbone_config.layer_norm_eps")]
    [InlineData("\"hidden_act\": \"gelu\",\n    \"hidden_dropout", "\"hidden_act\": \"tanh\",\n    \"hidden_dropout", "backbone_config.hidden_act")]
    [InlineData("\"use_absolute_embeddings\": false", "\"use_absolute_embeddings\": true", "backbone_config.use_absolute_embeddings")]
    [InlineData("\"out_features\": [\n      \"stage1\",", "\"out_features\": [\n      \"stage7\",", "backbone_config.out_features")]
    [InlineData("\"out_indices\": [\n      1,", "\"out_indices\": [\n      9,", "backbone_config.out_indices")]
    [InlineData("\"out_indices\": [\n      1,", "\"out_indices\": [\n      0,", "backbone_config.out_indices")]
    public void ImpossibleValuesAreRefusedWithTheField(string from, string to, string field)
    {
        string text = File.ReadAllText(Fixtures.Path("models", "dpt_swinv2_tiny", "config.json"));
        Assert.Contains(from, text);
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, text.Replace(from, to));
        var e = Assert.Throws<ConfigException>(() => BackboneConfigFiles.Swinv2(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }
}
