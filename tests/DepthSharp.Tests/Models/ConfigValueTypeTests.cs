using System.Text;
using DepthSharp.Imaging;
using DepthSharp.Models.Configs;
using DepthSharp.Pipeline;
using DepthSharp.Processing;

namespace DepthSharp.Tests.Models;

/// <summary>
/// config.json and preprocessor_config.json values of the wrong JSON type or out of range are refused by ConfigLoader
/// with a ConfigException naming the file and the field, whatever the config class: null where a list or string
/// belongs, numbers beyond double, bytes that are not UTF-8; and processor settings that would make an empty or
/// gigantic model input.
/// </summary>
public sealed class ConfigValueTypeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-configtypes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Edited(string fixture, string file, params string[] fromTo)
    {
        string text = File.ReadAllText(Fixtures.Path("models", fixture, file));
        for (int i = 0; i < fromTo.Length; i += 2)
        {
            Assert.Contains(fromTo[i], text);
            text = text.Replace(fromTo[i], fromTo[i + 1], StringComparison.Ordinal);
        }
        string path = Path.Combine(_dir, file);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData("depth_pro_tiny", "\"scaled_images_ratios\": [", "\"scaled_images_ratios\": null, \"x\": [", "scaled_images_ratios: ")]
    [InlineData("dpt_tiny", "\"readout_type\": \"project\"", "\"readout_type\": null", "readout_type: ")]
    [InlineData("zoedepth_tiny_nk", "\"bin_configurations\": [", "\"bin_configurations\": null, \"x\": [", "bin_configurations: ")]
    [InlineData("depth_anything_tiny_relative", "\"reassemble_factors\": [", "\"reassemble_factors\": null, \"x\": [", "reassemble_factors: ")]
    public void NullWhereAValueBelongsIsRefusedByField(string fixture, string from, string to, string field)
    {
        string path = Edited(fixture, "config.json", from, to);
        var e = Assert.Throws<ConfigException>(() => Load(fixture, path));
        Assert.StartsWith($"{path}: {field}", e.Message);
    }

    private static void Load(string fixture, string path)
    {
        switch (ConfigLoader.ReadModelType(path))
        {
            case "depth_pro": DepthProConfig.Load(path); break;
            case "dpt": DPTConfig.Load(path); break;
            case "zoedepth": ZoeDepthConfig.Load(path); break;
            default: DepthAnythingConfig.Load(path); break;
        }
        Assert.Fail($"{fixture}: loaded");
    }

    [Theory]
    [InlineData("depth_pro_tiny", "\"layer_norm_eps\": 1e-06", "\"layer_norm_eps\": 1e400", "fov_model_config.layer_norm_eps: 1e400 is out of range")]
    [InlineData("dpt_tiny", "\"layer_norm_eps\": 1e-12", "\"layer_norm_eps\": -1e999", "layer_norm_eps: -1e999 is out of range")]
    [InlineData("zoedepth_tiny_nk", "\"max_temp\": 50.0", "\"max_temp\": 1e400", "max_temp: 1e400 is out of range")]
    public void NumbersBeyondDoubleAreRefusedByField(string fixture, string from, string to, string message)
    {
        string path = Edited(fixture, "config.json", from, to);
        var e = Assert.Throws<ConfigException>(() => Load(fixture, path));
        Assert.Equal($"{path}: {message} for a number", e.Message);
    }

    [Fact]
    public void ConfigThatIsNotUtf8IsRefused()
    {
        string path = Path.Combine(_dir, "config.json");
        var bytes = Encoding.UTF8.GetBytes("""{"model_type": "depth_pro", "id2label": {"0": "caf?"}}""");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xE9;
        File.WriteAllBytes(path, bytes);
        Assert.Equal($"{path}: not valid UTF-8", Assert.Throws<ConfigException>(() => ConfigLoader.ReadModelType(path)).Message);
        Assert.Equal($"{path}: not valid UTF-8", Assert.Throws<ConfigException>(() => DepthProConfig.Load(path)).Message);
    }

    [Theory]
    [InlineData("\"ensure_multiple_of\": 14", "\"ensure_multiple_of\": 100000", "ensure_multiple_of: must be 1 to 1024, got 100000", ImageProcessorKind.Slow)]
    [InlineData("\"ensure_multiple_of\": 14", "\"ensure_multiple_of\": 100000", "ensure_multiple_of: must be 1 to 1024, got 100000", ImageProcessorKind.Fast)]
    [InlineData("\"height\": 70", "\"height\": 100000000", "size: 100000000x70 is not a usable size (height and width 1 to 2048)", ImageProcessorKind.Slow)]
    [InlineData("\"height\": 70", "\"height\": 100000000", "size: 100000000x70 is not a usable size (height and width 1 to 2048)", ImageProcessorKind.Fast)]
    [InlineData("\"image_std\": [", "\"image_std\": [null, ", "image_std[0]: ", ImageProcessorKind.Slow)]
    [InlineData("\"image_std\": [", "\"image_std\": [null, ", "image_std[0]: ", ImageProcessorKind.Fast)]
    public void ProcessorValuesOutOfRangeAreRefusedByField(string from, string to, string message, ImageProcessorKind kind)
    {
        string path = Edited("depth_anything_tiny_relative", "preprocessor_config.json", from, to);
        var e = Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(path, kind));
        Assert.StartsWith($"{path}: {message}", e.Message);
    }

    [Theory]
    [InlineData(ImageProcessorKind.Slow)]
    [InlineData(ImageProcessorKind.Fast)]
    public void ProcessorSettingsThatMakeAnEmptyInputAreRefusedForThePicture(ImageProcessorKind kind)
    {
        // A height of 1 rounded to a multiple of 14 is 0 rows: the reference fails on it too, later and less clearly.
        string path = Edited("depth_anything_tiny_relative", "preprocessor_config.json", "\"height\": 70", "\"height\": 1",
            "\"keep_aspect_ratio\": true", "\"keep_aspect_ratio\": false");
        var processor = ModelFamilies.LoadProcessor(path, kind);
        var picture = ImageFile.Load(Fixtures.Path("models", "depth_anything_tiny_relative", "image0.png")).Image;
        var e = Assert.Throws<ConfigException>(() => processor.Preprocess([picture]));
        Assert.StartsWith($"{path}: a {picture.Width}x{picture.Height} picture would become a ", e.Message);
        Assert.EndsWith("empty", e.Message);
    }

    [Fact]
    public void DepthProRatiosAboveOneAreRefused()
    {
        // 2147483648 once overflowed the scaled image's size inside the model.
        string path = Edited("depth_pro_tiny", "config.json", "\"scaled_images_ratios\": [\n    0.25,\n    0.5,\n    1.0\n  ]", "\"scaled_images_ratios\": [0.25, 0.5, 2147483648]");
        var e = Assert.Throws<ConfigException>(() => DepthProConfig.Load(path));
        Assert.StartsWith($"{path}: scaled_images_ratios: must be in (0, 1]", e.Message);
    }

    [Fact]
    public void DepthProInputTooSmallForItsPatchesIsAConfigError()
    {
        // patch_size 65 still fits the weights, but the processor's 256² input scaled by 0.25 is 64 pixels: no patch.
        string src = Fixtures.Path("models", "depth_pro_tiny");
        foreach (string f in new[] { "model.safetensors", "preprocessor_config.json" }) File.Copy(Path.Combine(src, f), Path.Combine(_dir, f));
        string path = Edited("depth_pro_tiny", "config.json", "\n  \"patch_size\": 64,", "\n  \"patch_size\": 65,");
        var estimator = DepthEstimator.Load(_dir);
        var e = Assert.Throws<ConfigException>(() => estimator.Estimate(ImageFile.Load(Path.Combine(src, "image0.png"))));
        Assert.StartsWith($"{path}: an input of 256x256 is too small to be scaled with scaled_images_ratios=[0.25, 0.5, 1] when patch_size=65", e.Message);
    }

    [Fact]
    public void ModelFolderWithANullConfigValueIsRefusedBeforeAnyWeightIsRead()
    {
        string src = Fixtures.Path("models", "dpt_tiny");
        foreach (string f in new[] { "model.safetensors", "preprocessor_config.json" }) File.Copy(Path.Combine(src, f), Path.Combine(_dir, f));
        Edited("dpt_tiny", "config.json", "\"neck_hidden_sizes\": [", "\"neck_hidden_sizes\": null, \"x\": [");
        var e = Assert.Throws<ConfigException>(() => DepthEstimator.Load(_dir));
        Assert.StartsWith(Path.Combine(_dir, "config.json") + ": neck_hidden_sizes: ", e.Message);
    }
}
