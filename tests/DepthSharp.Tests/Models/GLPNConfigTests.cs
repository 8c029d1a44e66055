using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Pipeline;
using DepthSharp.Processing;

namespace DepthSharp.Tests.Models;

public sealed class GLPNConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-glpn-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Checkpoints => new() { "vinvino02--glpn-kitti", "vinvino02--glpn-nyu" };

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void FullSizeModelExpectsExactlyTheReleasedTensors(string name)
    {
        string dir = Fixtures.Path("checkpoints", name);
        var recorder = new ShapeRecorder();
        _ = new GLPNForDepthEstimation(new Weights(recorder), GLPNConfig.Load(Path.Combine(dir, "config.json")));

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "weights.json")));
        var expected = doc.RootElement.GetProperty("tensors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        // The batch norms' integer num_batches_tracked counters are listed in the checkpoint, declared (not read) by the model.
        var built = recorder.Shapes.Keys.Concat(recorder.Buffers).ToList();
        var missing = expected.Keys.Except(built).Order().ToList();
        var extra = built.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"not built: {string.Join(", ", missing.Take(10))}; not in checkpoint: {string.Join(", ", extra.Take(10))}");
        foreach (var (tensor, shape) in expected.Where(t => !recorder.Buffers.Contains(t.Key)))
            Assert.True(shape.SequenceEqual(recorder.Shapes[tensor]), $"{tensor}: built [{string.Join(", ", recorder.Shapes[tensor])}], checkpoint [{string.Join(", ", shape)}]");
        long parameters = recorder.Shapes.Values.Sum(s => s.Aggregate(1L, (a, d) => a * d));
        Assert.Equal(doc.RootElement.GetProperty("parameters").GetInt64(), parameters);
        Assert.Equal(6, recorder.Buffers.Count(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void CheckpointConfigsAndProcessorsLoad(string name)
    {
        var config = GLPNConfig.Load(Fixtures.Path("checkpoints", name, "config.json"));
        Assert.Equal([3, 8, 27, 3], config.Depths);
        Assert.Equal(HiddenAct.Gelu, config.HiddenAct);
        Assert.Equal(3, config.HeadIndex);
        var processor = Assert.IsType<GLPNImageProcessor>(ModelFamilies.LoadProcessor(Fixtures.Path("checkpoints", name, "preprocessor_config.json")));
        Assert.Equal(32, processor.SizeDivisor);
        Assert.Equal(DepthSharp.Imaging.PilFilter.Bilinear, processor.Resample);
        Assert.Equal((352, 1216), processor.OutputSize(375, 1242));
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "glpn"}""");
        var c = GLPNConfig.Load(path);
        Assert.Equal(4, c.NumEncoderBlocks);
        Assert.Equal([2, 2, 2, 2], c.Depths);
        Assert.Equal([8, 4, 2, 1], c.SrRatios);
        Assert.Equal([32, 64, 160, 256], c.HiddenSizes);
        Assert.Equal([7, 3, 3, 3], c.PatchSizes);
        Assert.Equal([4, 2, 2, 2], c.Strides);
        Assert.Equal([1, 2, 5, 8], c.NumAttentionHeads);
        Assert.Equal([4.0, 4, 4, 4], c.MlpRatios);
        Assert.Equal(HiddenAct.Gelu, c.HiddenAct);
        Assert.Equal(64, c.DecoderHiddenSize);
        Assert.Equal(10, c.MaxDepth);
        Assert.Equal(-1, c.HeadInIndex);
        Assert.Equal(1e-6, c.LayerNormEps);
    }

    [Fact]
    public void FractionalMlpRatiosAreTruncatedAsTheReference()
    {
        string path = WriteConfig(t => t.Replace("\"mlp_ratios\": [\n    4,", "\"mlp_ratios\": [\n    2.7,"));
        Assert.Equal(43, GLPNConfig.Load(path).MlpHiddenSize(0)); // int(16 · 2.7) = int(43.2)
    }

    private string WriteConfig(Func<string, string> edit)
    {
        string text = File.ReadAllText(Fixtures.Path("models", "glpn_tiny", "config.json"));
        string edited = edit(text);
        Assert.NotEqual(text, edited);
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, edited);
        return path;
    }

    [Theory]
    [InlineData("\"model_type\": \"glpn\"", "\"model_type\": \"segformer\"", "model_type")]
    [InlineData("\"num_encoder_blocks\": 4", "\"num_encoder_blocks\": 3", "depths")]
    [InlineData("\"num_encoder_blocks\": 4", "\"num_encoder_blocks\": 0", "num_encoder_blocks")]
    [InlineData("\"num_channels\": 3", "\"num_channels\": 0", "num_channels")]
    [InlineData("\"depths\": [\n    1,", "\"depths\": [\n    -1,", "depths")]
    [InlineData("\"depths\": [\n    1,", "\"depths\": [\n    2147483647,", "depths")]
    [InlineData("\"depths\": [\n    1,", "\"depths\": [", "depths")]
    [InlineData("\"sr_ratios\": [\n    8,", "\"sr_ratios\": [\n    0,", "sr_ratios")]
    [InlineData("\"hidden_sizes\": [\n    16,", "\"hidden_sizes\": [\n    0,", "hidden_sizes")]
    [InlineData("\"hidden_sizes\": [\n    16,", "\"hidden_sizes\": null, \"x\": [", "hidden_sizes")]
    [InlineData("\"patch_sizes\": [\n    7,", "\"patch_sizes\": [\n    -7,", "patch_sizes")]
    [InlineData("\"patch_sizes\": [\n    7,\n    3,", "\"patch_sizes\": [\n    7,\n    4,", "patch_sizes")]
    [InlineData("\"strides\": [\n    4,", "\"strides\": [\n    0,", "strides")]
    [InlineData("\"strides\": [\n    4,\n    2,", "\"strides\": [\n    4,\n    3,", "strides")]
    [InlineData("\"num_attention_heads\": [\n    1,\n    2,", "\"num_attention_heads\": [\n    1,\n    5,", "num_attention_heads")]
    [InlineData("\"num_attention_heads\": [\n    1,", "\"num_attention_heads\": [\n    0,", "num_attention_heads")]
    [InlineData("\"mlp_ratios\": [\n    4,", "\"mlp_ratios\": [\n    0.01,", "mlp_ratios")]
    [InlineData("\"mlp_ratios\": [\n    4,", "\"mlp_ratios\": [\n    -4,", "mlp_ratios")]
    [InlineData("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"gelu_new\"", "hidden_act")]
    [InlineData("\"decoder_hidden_size\": 16", "\"decoder_hidden_size\": 1", "decoder_hidden_size")]
    [InlineData("\"decoder_hidden_size\": 16", "\"decoder_hidden_size\": \"sixteen\"", "decoder_hidden_size")]
    [InlineData("\"max_depth\": 10", "\"max_depth\": 0", "max_depth")]
    [InlineData("\"head_in_index\": -1", "\"head_in_index\": 4", "head_in_index")]
    [InlineData("\"head_in_index\": -1", "\"head_in_index\": -5", "head_in_index")]
    public void ImpossibleValuesAreRefusedWithTheField(string from, string to, string field)
    {
        string path = WriteConfig(t => t.Replace(from, to));
        var e = Assert.Throws<ConfigException>(() => GLPNConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }

    [Theory]
    [InlineData("\"size_divisor\": 32", "\"size_divisor\": 0", "size_divisor")]
    [InlineData("\"size_divisor\": 32", "\"size_divisor\": 4096", "size_divisor")]
    [InlineData("\"resample\": 2", "\"resample\": 0", "resample")]
    [InlineData("\"resample\": 2", "\"resample\": 6", "resample")]
    [InlineData("\"do_resize\": true", "\"do_resize\": \"yes\"", "do_resize")]
    [InlineData("\"rescale_factor\": 0.00392156862745098", "\"rescale_factor\": \"1/255\"", "rescale_factor")]
    public void ImpossibleProcessorValuesAreRefusedWithTheField(string from, string to, string field) =>
        ProcessorConfigRefusal.AssertRefused(_dir, "glpn_tiny", from, to, field);
}
