using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Pipeline;
using DepthSharp.Processing;

namespace DepthSharp.Tests.Models;

public sealed class DPTFamilyConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-dpt-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Checkpoints()
    {
        var data = new TheoryData<string>();
        // By what the config declares, not the folder's name: Prompt Depth Anything shares the depth-anything org.
        foreach (var dir in Directory.GetDirectories(Fixtures.Path("checkpoints")).Order(StringComparer.Ordinal))
            if (ConfigLoader.ReadModelType(Path.Combine(dir, "config.json")) is "depth_anything" or "dpt") data.Add(Path.GetFileName(dir));
        return data;
    }

    /// <summary>Nine Depth Anything V2; DPT-Large, DPT-Hybrid, two on BEiT and two on Swin V2.</summary>
    [Fact]
    public void EveryDepthAnythingAndDPTCheckpointIsCovered()
    {
        var names = ((IEnumerable<object[]>)Checkpoints()).Select(row => (string)row[0]).ToList();
        Assert.Equal(15, names.Count);
        Assert.Contains("Intel--dpt-hybrid-midas", names);
        Assert.Contains("Intel--dpt-beit-large-512", names);
        Assert.Contains("Intel--dpt-beit-base-384", names);
        Assert.Contains("Intel--dpt-swinv2-tiny-256", names);
        Assert.Contains("Intel--dpt-swinv2-large-384", names);
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void FullSizeModelExpectsExactlyTheReleasedTensors(string name)
    {
        string dir = Fixtures.Path("checkpoints", name);
        string configPath = Path.Combine(dir, "config.json");
        var recorder = new ShapeRecorder();
        if (ConfigLoader.ReadModelType(configPath) == "dpt")
            _ = new DPTForDepthEstimation(new Weights(recorder), DPTConfig.Load(configPath));
        else
            _ = new DepthAnythingForDepthEstimation(new Weights(recorder), DepthAnythingConfig.Load(configPath));

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "weights.json")));
        var expected = doc.RootElement.GetProperty("tensors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        var missing = expected.Keys.Except(recorder.Shapes.Keys).Order().ToList();
        var extra = recorder.Shapes.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"not built: {string.Join(", ", missing.Take(10))}; not in checkpoint: {string.Join(", ", extra.Take(10))}");
        foreach (var (tensor, shape) in expected)
            Assert.True(shape.SequenceEqual(recorder.Shapes[tensor]), $"{tensor}: built [{string.Join(", ", recorder.Shapes[tensor])}], checkpoint [{string.Join(", ", shape)}]");
        long parameters = recorder.Shapes.Values.Sum(s => s.Aggregate(1L, (a, d) => a * d));
        Assert.Equal(doc.RootElement.GetProperty("parameters").GetInt64(), parameters);
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void CheckpointProcessorsAreDPTImageProcessors(string name)
    {
        var processor = Assert.IsType<DPTImageProcessor>(ModelFamilies.LoadProcessor(Fixtures.Path("checkpoints", name, "preprocessor_config.json")));
        var (h, w) = processor.OutputSize(480, 640);
        Assert.Equal(0, h % processor.EnsureMultipleOf);
        Assert.Equal(0, w % processor.EnsureMultipleOf);
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "depth_anything"}""");
        var da = DepthAnythingConfig.Load(path);
        Assert.Equal(518, da.BackboneModel.ImageSize);
        Assert.Equal([9, 10, 11, 12], da.BackboneModel.OutStageIndices);
        Assert.False(da.BackboneModel.ReshapeHiddenStates);
        Assert.Equal(64, da.FusionHiddenSize);
        Assert.Equal(DepthEstimationType.Relative, da.DepthEstimationType);
        Assert.Equal(1, da.MaxDepthScale);

        File.WriteAllText(path, """{"model_type": "dpt"}""");
        var dpt = DPTConfig.Load(path);
        Assert.Equal([2, 5, 8, 11], dpt.SelectedLayers);
        Assert.Equal(ReadoutType.Project, dpt.ReadoutType);
        Assert.Equal(HiddenAct.Gelu, dpt.HiddenAct);
        Assert.Equal(768, dpt.HiddenSize);
        Assert.Null(dpt.BackboneConfig);
    }

    [Fact]
    public void OutFeaturesAloneSelectTheirStages()
    {
        string path = WriteConfig("depth_anything_tiny_relative", t => t.Replace("\"out_indices\": [\n      1,\n      2,\n      3,\n      4\n    ],", ""));
        Assert.Equal([1, 2, 3, 4], DepthAnythingConfig.Load(path).BackboneModel.OutStageIndices);
    }

    private string WriteConfig(string fixture, Func<string, string> edit)
    {
        string text = File.ReadAllText(Fixtures.Path("models", fixture, "config.json"));
        string edited = edit(text);
        Assert.NotEqual(text, edited);
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, edited);
        return path;
    }

    [Theory]
    [InlineData("\"depth_estimation_type\": \"relative\"", "\"depth_estimation_type\": \"absolute\"", "depth_estimation_type")]
    [InlineData("\"reassemble_factors\": [\n    4,", "\"reassemble_factors\": [", "reassemble_factors")]
    [InlineData("\"reassemble_factors\": [\n    4,", "\"reassemble_factors\": [\n    2.5,", "reassemble_factors")]
    [InlineData("\"neck_hidden_sizes\": [\n    12,", "\"neck_hidden_sizes\": [", "neck_hidden_sizes")]
    [InlineData("\"num_attention_heads\": 2,", "\"num_attention_heads\": 3,", "backbone_config.num_attention_heads")]
    [InlineData("\"out_indices\": [\n      1,", "\"out_indices\": [\n      7,", "backbone_config.out_indices")]
    [InlineData("\"out_features\": [\n      \"stage1\",", "\"out_features\": [\n      \"stage9\",", "backbone_config.out_features")]
    [InlineData("\"model_type\": \"dinov2\"", "\"model_type\": \"beit\"", "backbone_config.model_type")]
    [InlineData("\"reshape_hidden_states\": false", "\"reshape_hidden_states\": true", "backbone_config.reshape_hidden_states")]
    [InlineData("\"reassemble_hidden_size\": 40", "\"reassemble_hidden_size\": 48", "reassemble_hidden_size")]
    [InlineData("\"head_in_index\": -1", "\"head_in_index\": 4", "head_in_index")]
    [InlineData("\"fusion_hidden_size\": 20", "\"fusion_hidden_size\": \"twenty\"", "fusion_hidden_size")]
    [InlineData("\"patch_size\": 14,\n  \"reassemble", "\"patch_size\": 16,\n  \"reassemble", "patch_size")]
    [InlineData("\"backbone\": null", "\"backbone\": \"facebook/dinov2-small\"", "backbone")]
    public void ImpossibleDepthAnythingValuesAreRefusedWithTheField(string from, string to, string field)
    {
        string path = WriteConfig("depth_anything_tiny_relative", t => t.Replace(from, to));
        var e = Assert.Throws<ConfigException>(() => DepthAnythingConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }

    [Theory]
    [InlineData("\"readout_type\": \"project\"", "\"readout_type\": \"sum\"", "readout_type")]
    [InlineData("\"backbone_out_indices\": [\n    0,", "\"backbone_out_indices\": [\n    9,", "backbone_out_indices")]
    [InlineData("\"add_projection\": false", "\"add_projection\": true", "add_projection")]
    [InlineData("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"tanh\"", "hidden_act")]
    [InlineData("\"num_attention_heads\": 4", "\"num_attention_heads\": 5", "num_attention_heads")]
    [InlineData("\"image_size\": 64", "\"image_size\": 4", "image_size")]
    [InlineData("\"reassemble_factors\": [\n    4,", "\"reassemble_factors\": [\n    -4,", "reassemble_factors")]
    [InlineData("\"neck_hidden_sizes\": [\n    8,", "\"neck_hidden_sizes\": [\n    0,", "neck_hidden_sizes")]
    [InlineData("\"fusion_hidden_size\": 16", "\"fusion_hidden_size\": 1", "fusion_hidden_size")]
    public void ImpossibleDPTValuesAreRefusedWithTheField(string from, string to, string field)
    {
        string path = WriteConfig("dpt_tiny", t => t.Replace(from, to));
        var e = Assert.Throws<ConfigException>(() => DPTConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }

    [Theory]
    [InlineData("\"ensure_multiple_of\": 14", "\"ensure_multiple_of\": 0", "ensure_multiple_of")]
    [InlineData("\"do_pad\": false", "\"do_pad\": true", "size_divisor")]
    [InlineData("\"resample\": 3", "\"resample\": 0", "resample")]
    [InlineData("\"resample\": 3", "\"resample\": 7", "resample")]
    [InlineData("\"width\": 70", "\"depth\": 70", "size")]
    [InlineData("\"image_std\": [\n    0.229,", "\"image_std\": [\n    0,", "image_std")]
    [InlineData("\"image_mean\": [\n    0.485,", "\"image_mean\": [", "image_mean")]
    [InlineData("\"keep_aspect_ratio\": true", "\"keep_aspect_ratio\": \"yes\"", "keep_aspect_ratio")]
    public void ImpossibleProcessorValuesAreRefusedWithTheField(string from, string to, string field) =>
        ProcessorConfigRefusal.AssertRefused(_dir, "depth_anything_tiny_relative", from, to, field);

    [Fact]
    public void ACheckpointThatDoesNotFitTheConfigIsRefusedByTensorName()
    {
        string src = Fixtures.Path("models", "depth_anything_tiny_relative");
        foreach (var f in new[] { "model.safetensors", "preprocessor_config.json" }) File.Copy(Path.Combine(src, f), Path.Combine(_dir, f));
        File.WriteAllText(Path.Combine(_dir, "config.json"), File.ReadAllText(Path.Combine(src, "config.json")).Replace("\"head_hidden_size\": 8", "\"head_hidden_size\": 6"));
        var e = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(_dir));
        Assert.Contains("head.conv2.weight", e.Message);
        Assert.Contains("head.conv3.weight", e.Message);
    }

    [Fact]
    public void ADPTCheckpointUnderADepthAnythingConfigIsRefused()
    {
        string src = Fixtures.Path("models", "dpt_tiny");
        File.Copy(Path.Combine(src, "model.safetensors"), Path.Combine(_dir, "model.safetensors"));
        File.Copy(Fixtures.Path("models", "depth_anything_tiny_relative", "config.json"), Path.Combine(_dir, "config.json"));
        var e = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(_dir));
        Assert.Contains("missing tensor 'backbone.embeddings.cls_token'", e.Message);
        Assert.Contains("unused tensor 'dpt.embeddings.cls_token'", e.Message);
    }
}
