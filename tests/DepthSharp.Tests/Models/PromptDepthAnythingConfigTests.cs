using DepthSharp.Pipeline;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DepthSharp.Tests.Models;

public sealed class PromptDepthAnythingConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-pda-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Released = ["depth-anything--prompt-depth-anything-vitl-hf", "depth-anything--prompt-depth-anything-vits-hf"];

    public static TheoryData<string> Checkpoints() => new(Released);

    [Fact]
    public void EveryReleasedPromptDepthAnythingCheckpointIsCovered()
    {
        var released = Directory.GetDirectories(Fixtures.Path("checkpoints"))
            .Where(d => ConfigLoader.ReadModelType(Path.Combine(d, "config.json")) == "prompt_depth_anything")
            .Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal);
        Assert.Equal(Released, released);
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void FullSizeModelExpectsExactlyTheReleasedTensors(string name)
    {
        string dir = Fixtures.Path("checkpoints", name);
        var recorder = new ShapeRecorder();
        _ = new PromptDepthAnythingForDepthEstimation(new Weights(recorder), PromptDepthAnythingConfig.Load(Path.Combine(dir, "config.json")));

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
    public void ReleasedConfigsAreMetricWithMillimetrePrompts(string name)
    {
        string dir = Fixtures.Path("checkpoints", name);
        var config = PromptDepthAnythingConfig.Load(Path.Combine(dir, "config.json"));
        Assert.Equal(DepthEstimationType.Metric, config.DepthEstimationType);
        var processor = Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(Path.Combine(dir, "preprocessor_config.json")));
        Assert.Equal(0.001, processor.PromptScaleToMeter);
        // A phone's 1920x1440 picture comes out at the size the speed target names, 756x1008.
        Assert.Equal((756, 1008), processor.OutputSize(1440, 1920));
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "prompt_depth_anything"}""");
        var c = PromptDepthAnythingConfig.Load(path);
        Assert.Equal(518, c.BackboneModel.ImageSize);
        Assert.Equal(384, c.BackboneModel.HiddenSize);
        Assert.Equal([9, 10, 11, 12], c.BackboneModel.OutStageIndices);
        Assert.False(c.BackboneModel.ReshapeHiddenStates);
        Assert.Equal([48, 96, 192, 384], c.NeckHiddenSizes);
        Assert.Equal([4, 2, 1, 0.5], c.ReassembleFactors);
        Assert.Equal(64, c.FusionHiddenSize);
        Assert.Equal(32, c.HeadHiddenSize);
        Assert.Equal(DepthEstimationType.Relative, c.DepthEstimationType);

        File.WriteAllText(Path.Combine(_dir, "preprocessor_config.json"), """{"image_processor_type": "PromptDepthAnythingImageProcessor"}""");
        var p = Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(Path.Combine(_dir, "preprocessor_config.json")));
        Assert.Equal(0.001, p.PromptScaleToMeter);
        Assert.Equal((384, 384), p.OutputSize(480, 640));
        Assert.False(p.Images.KeepAspectRatio);
        Assert.Equal(1, p.Images.EnsureMultipleOf);
        Assert.False(p.Images.DoPad);
    }

    /// <summary>The tiny fixture's config.json with the top-level (and backbone_config) keys of <paramref name="patch"/> replaced.</summary>
    private string Patched(string patch, string file = "config.json")
    {
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", "prompt_depth_anything_tiny", file)))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject())
            if (value is JsonObject inner && config[key] is JsonObject target)
                foreach (var (innerKey, innerValue) in inner) target[innerKey] = innerValue?.DeepClone();
            else config[key] = value?.DeepClone();
        string path = Path.Combine(_dir, file);
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    [Theory]
    [InlineData("""{"model_type": "depth_anything"}""", "model_type")]
    [InlineData("""{"depth_estimation_type": "absolute"}""", "depth_estimation_type")]
    [InlineData("""{"backbone": "facebook/dinov2-small"}""", "backbone")]
    [InlineData("""{"use_timm_backbone": true}""", "use_timm_backbone")]
    [InlineData("""{"backbone_kwargs": {"out_indices": [1, 2]}}""", "backbone_kwargs")]
    [InlineData("""{"patch_size": 16}""", "patch_size")]
    [InlineData("""{"head_hidden_size": 0}""", "head_hidden_size")]
    [InlineData("""{"reassemble_hidden_size": 48}""", "reassemble_hidden_size")]
    [InlineData("""{"reassemble_factors": [4, 2, 1]}""", "reassemble_factors")]
    [InlineData("""{"reassemble_factors": [2.5, 2, 1, 0.5]}""", "reassemble_factors")]
    [InlineData("""{"neck_hidden_sizes": [8, 12, 16]}""", "neck_hidden_sizes")]
    [InlineData("""{"neck_hidden_sizes": [8, 0, 16, 24]}""", "neck_hidden_sizes")]
    [InlineData("""{"fusion_hidden_size": 1}""", "fusion_hidden_size")]
    [InlineData("""{"fusion_hidden_size": "sixteen"}""", "fusion_hidden_size")]
    [InlineData("""{"backbone_config": {"model_type": "beit"}}""", "backbone_config.model_type")]
    [InlineData("""{"backbone_config": {"num_attention_heads": 3}}""", "backbone_config.num_attention_heads")]
    [InlineData("""{"backbone_config": {"reshape_hidden_states": true}}""", "backbone_config.reshape_hidden_states")]
    [InlineData("""{"backbone_config": {"out_indices": [1, 2, 3, 7], "out_features": null}}""", "backbone_config.out_indices")]
    public void ImpossibleValuesAreRefusedWithTheField(string patch, string field)
    {
        string path = Patched(patch);
        var e = Assert.Throws<ConfigException>(() => PromptDepthAnythingConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }

    [Fact]
    public void AnyHeadInIndexIsAcceptedAsTheReferenceIgnoresIt()
    {
        Assert.Equal(7, PromptDepthAnythingConfig.Load(Patched("""{"head_in_index": 7}""")).HeadInIndex);
    }

    [Theory]
    [InlineData("""{"prompt_scale_to_meter": 0}""", "prompt_scale_to_meter")]
    [InlineData("""{"prompt_scale_to_meter": -0.001}""", "prompt_scale_to_meter")]
    [InlineData("""{"prompt_scale_to_meter": null}""", "prompt_scale_to_meter")]
    [InlineData("""{"prompt_scale_to_meter": "mm"}""", "prompt_scale_to_meter")]
    [InlineData("""{"image_processor_type": "DPTImageProcessor"}""", "image_processor_type")]
    [InlineData("""{"ensure_multiple_of": 0}""", "ensure_multiple_of")]
    [InlineData("""{"do_pad": true}""", "size_divisor")]
    [InlineData("""{"size": {"height": 0}}""", "size")]
    [InlineData("""{"resample": 9}""", "resample")]
    public void ImpossibleProcessorValuesAreRefusedWithTheField(string patch, string field)
    {
        Patched(patch, "preprocessor_config.json");
        // As a model folder's processor is loaded: for its family, which refuses another family's class.
        var family = ModelFamilies.ForFolder(Fixtures.Path("models", "prompt_depth_anything_tiny"));
        var e = Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(family, _dir));
        Assert.Contains("preprocessor_config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }

    [Fact]
    public void ADepthAnythingCheckpointIsRefusedByTensorName()
    {
        string src = Fixtures.Path("models", "depth_anything_tiny_metric");
        File.Copy(Path.Combine(src, "model.safetensors"), Path.Combine(_dir, "model.safetensors"));
        File.WriteAllText(Path.Combine(_dir, "config.json"),
            File.ReadAllText(Path.Combine(src, "config.json")).Replace("\"depth_anything\"", "\"prompt_depth_anything\""));
        var e = Assert.Throws<CheckpointException>(() => PromptDepthAnythingForDepthEstimation.FromPretrained(_dir));
        Assert.Contains("missing tensor 'neck.fusion_stage.layers.0.prompt_depth_layer.convolution1.weight'", e.Message);
    }

    [Fact]
    public void AFolderWithoutAConfigIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => PromptDepthAnythingForDepthEstimation.FromPretrained(_dir));
        Assert.Contains("config.json", e.Message);
    }
}
