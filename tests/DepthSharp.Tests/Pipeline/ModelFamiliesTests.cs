using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Pipeline;

/// <summary>The family registry: model_types resolve to their family, processors to theirs, and anything unknown is refused by name.</summary>
public sealed class ModelFamiliesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-families-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every fixture folder (tiny models and released checkpoints) whose model_type has a family here.</summary>
    public static TheoryData<string, string> RegisteredFixtures()
    {
        var data = new TheoryData<string, string>();
        var known = ModelFamilies.ModelTypes.ToHashSet();
        foreach (var kind in new[] { "models", "checkpoints" })
            foreach (var dir in Directory.GetDirectories(Fixtures.Path(kind)).Order(StringComparer.Ordinal))
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "config.json")));
                string type = doc.RootElement.GetProperty("model_type").GetString()!;
                if (known.Contains(type)) data.Add(Path.Combine(kind, Path.GetFileName(dir)), type);
            }
        return data;
    }

    [Fact]
    public void EveryModelTypeResolvesToItsOwnFamily()
    {
        Assert.Subset(ModelFamilies.ModelTypes.ToHashSet(), new HashSet<string> { "depth_pro", "zoedepth", "depth_anything", "dpt", "prompt_depth_anything" });
        Assert.Equal(ModelFamilies.All.Count, ModelFamilies.ModelTypes.Distinct().Count());
        foreach (var family in ModelFamilies.All)
            Assert.Same(family, ModelFamilies.ForModelType(family.ModelType));
    }

    [Theory]
    [MemberData(nameof(RegisteredFixtures))]
    public void FixtureFoldersResolveByTheirConfig(string folder, string modelType)
    {
        var family = ModelFamilies.ForFolder(Fixtures.Path(folder.Split('/')));
        Assert.Equal(modelType, family.ModelType);
    }

    [Fact]
    public void EveryFamilyHasFixtures()
    {
        var covered = RegisteredFixtures().Select(row => (string)row[1]).ToHashSet();
        Assert.Equal(ModelFamilies.ModelTypes.Order(), covered.Order());
    }

    [Fact]
    public void AnUnknownModelTypeIsRefusedListingTheSupportedOnes()
    {
        string config = Path.Combine(_dir, "config.json");
        File.WriteAllText(config, """{"model_type": "depth_magic"}""");
        var e = Assert.Throws<ConfigException>(() => ModelFamilies.ForFolder(_dir));
        Assert.Equal(config, e.FileName);
        Assert.Contains("model_type: 'depth_magic' is not supported", e.Message);
        Assert.Contains($"supported: {string.Join(", ", ModelFamilies.ModelTypes)})", e.Message);
        // The estimator refuses it the same way, before looking for weights.
        Assert.Contains("'depth_magic'", Assert.Throws<ConfigException>(() => DepthEstimator.Load(_dir)).Message);
        Assert.Contains("depth_anything", Assert.Throws<ConfigException>(() => ModelFamilies.ForModelType("glpn_magic")).Message);
    }

    [Fact]
    public void AMissingFolderOrModelTypeIsRefusedByName()
    {
        string missing = Path.Combine(_dir, "nowhere");
        Assert.Contains("model folder not found", Assert.Throws<ConfigException>(() => ModelFamilies.ForFolder(missing)).Message);
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"hidden_size": 8}""");
        Assert.Contains("model_type: missing", Assert.Throws<ConfigException>(() => ModelFamilies.ForFolder(_dir)).Message);
    }

    public static TheoryData<string, Type> ProcessorNames => new()
    {
        { "DPTImageProcessor", typeof(DPTImageProcessor) },
        { "DPTImageProcessorFast", typeof(DPTImageProcessorFast) },
        { "DepthProImageProcessor", typeof(DepthProImageProcessor) },
        { "DepthProImageProcessorFast", typeof(DepthProImageProcessor) },
        { "ZoeDepthImageProcessor", typeof(ZoeDepthImageProcessor) },
        { "ZoeDepthImageProcessorFast", typeof(ZoeDepthImageProcessor) },
        { "GLPNImageProcessor", typeof(GLPNImageProcessor) },
        { "GLPNImageProcessorFast", typeof(GLPNImageProcessorFast) },
        { "PromptDepthAnythingImageProcessor", typeof(PromptDepthAnythingImageProcessor) },
        { "PromptDepthAnythingImageProcessorFast", typeof(PromptDepthAnythingImageProcessorFast) },
    };

    [Theory]
    [MemberData(nameof(ProcessorNames))]
    public void EveryImageProcessorTypeLoadsItsClass(string name, Type type)
    {
        string path = Path.Combine(_dir, "preprocessor_config.json");
        File.WriteAllText(path, $$"""{"image_processor_type": "{{name}}"}""");
        Assert.IsType(type, ModelFamilies.LoadProcessor(path));
        Assert.Contains(ModelFamilies.All, f => f.ImageProcessorTypes.Contains(name));
    }

    [Fact]
    public void AnUnknownImageProcessorTypeIsRefusedListingTheSupportedOnes()
    {
        string path = Path.Combine(_dir, "preprocessor_config.json");
        File.WriteAllText(path, """{"image_processor_type": "GLPNMagicProcessor"}""");
        var e = Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains("'GLPNMagicProcessor' is not supported", e.Message);
        Assert.Contains("ZoeDepthImageProcessor", e.Message);
    }

    [Fact]
    public void AFolderWithoutAProcessorConfigGetsTheReferenceDefaults()
    {
        var picture = new RgbImage(100, 80, new byte[100 * 80 * 3]);
        // DPTImageProcessor: 384², no aspect ratio kept; DepthPro: 1536²; ZoeDepth: 384×512 kept in aspect, multiples of 32.
        Assert.Equal((384, 384), ModelFamilies.LoadProcessor(ModelFamilies.ForModelType("dpt"), _dir).InputSize(picture));
        Assert.Equal((384, 384), ModelFamilies.LoadProcessor(ModelFamilies.ForModelType("depth_anything"), _dir).InputSize(picture));
        Assert.Equal((1536, 1536), ModelFamilies.LoadProcessor(ModelFamilies.ForModelType("depth_pro"), _dir).InputSize(picture));
        var zoe = Assert.IsType<ZoeDepthImageProcessor>(ModelFamilies.LoadProcessor(ModelFamilies.ForModelType("zoedepth"), _dir));
        Assert.Equal((384, 512, true), (zoe.Height, zoe.Width, zoe.DoPad));
    }

    [Fact]
    public void AnotherFamilysProcessorIsRefusedNamingWhatTheFamilyTakes()
    {
        File.Copy(Fixtures.Path("models", "depth_pro_tiny", "preprocessor_config.json"), Path.Combine(_dir, "preprocessor_config.json"));
        var e = Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(ModelFamilies.ForModelType("dpt"), _dir));
        Assert.Contains("image_processor_type: dpt models take DPTImageProcessor or DPTImageProcessorFast, not 'DepthProImageProcessor'", e.Message);
    }

    [Fact]
    public void AFamilyWithoutAnExtraInputRefusesOne()
    {
        var estimator = DepthEstimator.Load(Fixtures.Path("models", "dpt_tiny"));
        Assert.Null(estimator.Family.ExtraInput);
        var picture = ImageFile.Load(Fixtures.Path("models", "dpt_tiny", "image0.png"));
        var e = Assert.Throws<ArgumentException>(() => estimator.Estimate([new DepthInput(picture, Tensor.Zeros(4, 4))]));
        Assert.Contains("dpt models take no input besides the picture", e.Message);
    }
}
