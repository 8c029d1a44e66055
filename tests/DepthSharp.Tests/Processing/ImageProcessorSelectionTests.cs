using System.Text.Json.Nodes;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;

namespace DepthSharp.Tests.Processing;

/// <summary>Which processor class a model gets: the one its config names, or the slow or fast one forced.</summary>
public sealed class ImageProcessorSelectionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-processor-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(ImageProcessorKind.Auto, "DPTImageProcessor", false)]
    [InlineData(ImageProcessorKind.Auto, "DPTImageProcessorFast", true)]
    [InlineData(ImageProcessorKind.Slow, "DPTImageProcessorFast", false)]
    [InlineData(ImageProcessorKind.Slow, "DPTImageProcessor", false)]
    [InlineData(ImageProcessorKind.Fast, "DPTImageProcessor", true)]
    [InlineData(ImageProcessorKind.Fast, "DPTImageProcessorFast", true)]
    public void KindPicksTheClassLikeTransformers(ImageProcessorKind kind, string configType, bool fast) =>
        Assert.Equal(fast, kind.PicksFast(configType));

    /// <summary>A copy of a model fixture's folder (config and processor config only) with image_processor_type set to <paramref name="type"/>.</summary>
    private string ModelFolder(string model, string type)
    {
        string dir = Path.Combine(_dir, $"{model}-{type}");
        Directory.CreateDirectory(dir);
        File.Copy(Fixtures.Path("models", model, "config.json"), Path.Combine(dir, "config.json"));
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", model, "preprocessor_config.json")))!;
        config["image_processor_type"] = type;
        File.WriteAllText(Path.Combine(dir, "preprocessor_config.json"), config.ToJsonString());
        return dir;
    }

    [Theory]
    [InlineData("DPTImageProcessor", ImageProcessorKind.Auto, typeof(DPTImageProcessor))]
    [InlineData("DPTImageProcessorFast", ImageProcessorKind.Auto, typeof(DPTImageProcessorFast))]
    [InlineData("DPTImageProcessorFast", ImageProcessorKind.Slow, typeof(DPTImageProcessor))]
    [InlineData("DPTImageProcessor", ImageProcessorKind.Fast, typeof(DPTImageProcessorFast))]
    public void LoadPicksTheNamedClassUnlessForced(string type, ImageProcessorKind kind, Type expected) =>
        Assert.IsType(expected, ModelFamilies.LoadProcessor(Path.Combine(ModelFolder("dpt_tiny", type), "preprocessor_config.json"), kind));

    [Theory]
    [InlineData("depth_pro_tiny", "DepthProImageProcessorFast", typeof(DepthProImageProcessor))]
    [InlineData("zoedepth_tiny_nk", "ZoeDepthImageProcessorFast", typeof(ZoeDepthImageProcessor))]
    public void DepthProAndZoeDepthHaveOneClassForBothFlavours(string model, string type, Type expected)
    {
        string path = Path.Combine(ModelFolder(model, type), "preprocessor_config.json");
        foreach (var kind in Enum.GetValues<ImageProcessorKind>())
            Assert.IsType(expected, ModelFamilies.LoadProcessor(path, kind));
    }

    /// <summary>
    /// DepthEstimatorOptions.ImageProcessor reaches the DPT and Depth Anything backends: the pixel values they prepare are
    /// the picked class's (the model's weights are random: only the processor matters here).
    /// </summary>
    [Theory]
    [InlineData("dpt_tiny", "DPTImageProcessor", ImageProcessorKind.Auto, false)]
    [InlineData("dpt_tiny", "DPTImageProcessorFast", ImageProcessorKind.Auto, true)]
    [InlineData("dpt_tiny", "DPTImageProcessorFast", ImageProcessorKind.Slow, false)]
    [InlineData("depth_anything_tiny_relative", "DPTImageProcessor", ImageProcessorKind.Fast, true)]
    public void EstimatorOptionPicksTheProcessor(string model, string type, ImageProcessorKind kind, bool fast)
    {
        string dir = ModelFolder(model, type);
        var image = ImageFile.Load(Fixtures.Path("processors", "image1.png")).Image;
        var config = ImageProcessorConfig.Load(Path.Combine(dir, "preprocessor_config.json"));
        var slowValues = new DPTImageProcessor(config).Preprocess([image]).Data;
        var fastValues = new DPTImageProcessorFast(config).Preprocess([image]).Data;
        Assert.NotEqual(slowValues, fastValues);

        var estimator = DepthEstimator.LoadRandom(dir, options: new DepthEstimatorOptions { ImageProcessor = kind });
        Assert.Equal(fast ? fastValues : slowValues, estimator.Preprocess([image]).Data);
    }

    [Fact]
    public void FolderWithoutProcessorConfigGetsThePickedClassDefaults()
    {
        string dir = Path.Combine(_dir, "bare");
        Directory.CreateDirectory(dir);
        var family = ModelFamilies.ForModelType("dpt");
        Assert.IsType<DPTImageProcessor>(ModelFamilies.LoadProcessor(family, dir, ImageProcessorKind.Auto));
        Assert.IsType<DPTImageProcessorFast>(ModelFamilies.LoadProcessor(family, dir, ImageProcessorKind.Fast));
    }

    [Theory]
    [InlineData(ImageProcessorKind.Slow)]
    [InlineData(ImageProcessorKind.Fast)]
    public void DPTModelWithAnotherFamilysProcessorIsRefused(ImageProcessorKind kind)
    {
        string dir = Path.Combine(_dir, "dpt-with-zoedepth-processor");
        Directory.CreateDirectory(dir);
        File.Copy(Fixtures.Path("models", "dpt_tiny", "config.json"), Path.Combine(dir, "config.json"));
        File.Copy(Fixtures.Path("models", "zoedepth_tiny_nk", "preprocessor_config.json"), Path.Combine(dir, "preprocessor_config.json"));
        var e = Assert.Throws<ConfigException>(() => DepthEstimator.LoadRandom(dir, options: new DepthEstimatorOptions { ImageProcessor = kind }));
        Assert.Contains("preprocessor_config.json", e.Message);
        Assert.Contains("DPTImageProcessor or DPTImageProcessorFast", e.Message);
    }
}
