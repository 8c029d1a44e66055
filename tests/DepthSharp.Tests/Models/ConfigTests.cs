using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Models;

public sealed class ConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteConfig(Func<string, string> edit)
    {
        string text = edit(File.ReadAllText(Fixtures.Path("models", "depth_pro_tiny", "config.json")));
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void FixtureConfigParsesWithNestedBackbones()
    {
        var c = DepthProConfig.Load(Fixtures.Path("models", "depth_pro_tiny", "config.json"));
        Assert.Equal(24, c.FusionHiddenSize);
        Assert.True(c.UseFovModel);
        Assert.Equal(48, c.PatchModel.HiddenSize);
        Assert.Equal(36, c.FovModel.HiddenSize);
        Assert.Equal(64, c.ImageModel.ImageSize);
        Assert.False(c.PatchModel.UseMaskToken);
        Assert.NotNull(c.Extra);
        Assert.True(c.Extra!.ContainsKey("architectures"));
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "depth_pro"}""");
        var c = DepthProConfig.Load(path);
        Assert.Equal(256, c.FusionHiddenSize);
        Assert.Equal([11, 5], c.IntermediateHookIds);
        Assert.Equal(384, c.PatchModel.ImageSize);
        Assert.Equal(768, c.PatchModel.HiddenSize);
        Assert.True(c.PatchModel.UseMaskToken);
        Assert.False(c.UseFovModel);
    }

    [Fact]
    public void UnknownModelTypeIsRefusedByName()
    {
        File.Copy(Fixtures.Path("models", "depth_pro_tiny", "preprocessor_config.json"), Path.Combine(_dir, "preprocessor_config.json"));
        WriteConfig(t => t.Replace("\"model_type\": \"depth_pro\"", "\"model_type\": \"depth_magic\""));
        var e = Assert.Throws<ConfigException>(() => DepthEstimator.Load(_dir));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("model_type", e.Message);
        Assert.Contains("depth_magic", e.Message);
    }

    [Theory]
    [InlineData("\"num_attention_heads\": 2,", "\"num_attention_heads\": 3,", "image_model_config.num_attention_heads")]
    [InlineData("\"fusion_hidden_size\": 24,", "\"fusion_hidden_size\": -4,", "fusion_hidden_size")]
    [InlineData("\"merge_padding_value\": 3,", "\"merge_padding_value\": \"three\",", "merge_padding_value")]
    [InlineData("\"intermediate_hook_ids\": [\n    3,", "\"intermediate_hook_ids\": [\n    9,", "intermediate_hook_ids")]
    [InlineData("\"hidden_act\": \"gelu\",", "\"hidden_act\": \"tanh\",", "hidden_act")]
    public void ImpossibleValuesAreRefusedWithTheField(string from, string to, string field)
    {
        string path = WriteConfig(t =>
        {
            Assert.Contains(from, t);
            return t.Replace(from, to);
        });
        var e = Assert.Throws<ConfigException>(() => DepthProConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void UnsortedRatiosAreRefused()
    {
        string path = WriteConfig(t => t.Replace("\"scaled_images_ratios\": [\n    0.25,\n    0.5,", "\"scaled_images_ratios\": [\n    0.5,\n    0.25,"));
        Assert.Contains("scaled_images_ratios", Assert.Throws<ConfigException>(() => DepthProConfig.Load(path)).Message);
    }

    [Fact]
    public void FullSizeDepthProExpectsExactlyTheReleasedTensors()
    {
        string dir = Fixtures.Path("checkpoints", "apple--DepthPro-hf");
        var config = DepthProConfig.Load(Path.Combine(dir, "config.json"));
        var recorder = new ShapeRecorder();
        _ = new DepthProForDepthEstimation(new Weights(recorder), config, useFovModel: true);

        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "weights.json")));
        var expected = doc.RootElement.GetProperty("tensors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        var missing = expected.Keys.Except(recorder.Shapes.Keys).Order().ToList();
        var extra = recorder.Shapes.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"not built: {string.Join(", ", missing.Take(10))}; not in checkpoint: {string.Join(", ", extra.Take(10))}");
        foreach (var (name, shape) in expected)
            Assert.True(shape.SequenceEqual(recorder.Shapes[name]), $"{name}: built [{string.Join(", ", recorder.Shapes[name])}], checkpoint [{string.Join(", ", shape)}]");
        long parameters = recorder.Shapes.Values.Sum(s => s.Aggregate(1L, (a, d) => a * d));
        Assert.Equal(doc.RootElement.GetProperty("parameters").GetInt64(), parameters);
        Assert.Equal(951_991_330L, parameters);
    }
}
