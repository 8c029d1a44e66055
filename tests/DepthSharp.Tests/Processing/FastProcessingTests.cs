using DepthSharp.Pipeline;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

/// <summary>
/// The fast image processors against processors_fast (strict rule: every value within 1e-5), and DPT's fast and slow
/// flavours against each other's fixtures.
/// </summary>
public class FastProcessingTests(ITestOutputHelper output)
{
    public static TheoryData<string, Type> FastCases => new()
    {
        { "depth_pro_1536_fast", typeof(DepthProImageProcessor) },
        { "depth_pro_384_fast", typeof(DepthProImageProcessor) },
        { "zoedepth_default_fast", typeof(ZoeDepthImageProcessor) },
        { "zoedepth_nopad_nokeep_fast", typeof(ZoeDepthImageProcessor) },
        { "dpt_depth_anything_518_fast", typeof(DPTImageProcessorFast) },
        { "dpt_large_384_fast", typeof(DPTImageProcessorFast) },
        { "dpt_pad_32_fast", typeof(DPTImageProcessorFast) },
    };

    private static RgbImage Image(int i) => ImageFile.Load(Fixtures.Path("processors_fast", $"image{i}.png")).Image;

    /// <summary>[3, H, W] for one picture, every 7th row and column for the 1536² cases as the fixtures store them.</summary>
    private static Tensor PixelValues(IImageProcessor processor, RgbImage image, bool stride7)
    {
        var x = processor.Preprocess([image]);
        x = x.Reshape(3, x.Dim(2), x.Dim(3));
        return stride7 ? DepthProProcessingTests.EveryNth(x, 7) : x;
    }

    /// <summary>Compares one processor's output for the three pictures with a fixture file's; the values off the strict rule.</summary>
    private int CompareStrict(IImageProcessor processor, string fixtureFolder, string caseName, string label)
    {
        using var expected = SafeTensorsFile.Open(Fixtures.Path(fixtureFolder, "expected.safetensors"));
        bool stride7 = caseName.StartsWith("depth_pro_1536", StringComparison.Ordinal);
        int total = 0;
        for (int i = 0; i < 3; i++)
        {
            string key = stride7 ? $"{caseName}.{i}.pixel_values_stride7" : $"{caseName}.{i}.pixel_values";
            var e = expected.Read(key);
            var (off, maxDiff, notIdentical) = Tolerance.PixelValuesStrict(key, e, PixelValues(processor, Image(i), stride7));
            output.WriteLine($"{label} {key} [{string.Join(", ", e.Shape)}]: {off} values off by more than 1e-5, max |Δ| {maxDiff:E2}, "
                + $"{notIdentical} of {e.Length} not bit-identical");
            total += off;
        }
        return total;
    }

    [Theory]
    [MemberData(nameof(FastCases))]
    public void ProcessorsFastFixturesMatchBitForBit(string caseName, Type picked)
    {
        // Each config names its Fast class, which the default (Auto) picks.
        string path = Fixtures.Path("processors_fast", "processors", caseName, "preprocessor_config.json");
        var processor = ModelFamilies.LoadProcessor(path);
        Assert.IsType(picked, processor);
        Assert.Equal(0, CompareStrict(processor, "processors_fast", caseName, "fast"));
    }

    /// <summary>processors/ and processors_fast/ hold the same configurations but for the class name.</summary>
    public static TheoryData<string> DPTCases => new() { "dpt_depth_anything_518", "dpt_large_384", "dpt_pad_32" };

    [Theory]
    [MemberData(nameof(DPTCases))]
    public void DPTSlowConfigForcedFastGivesTheFastValues(string name)
    {
        var processor = ModelFamilies.LoadProcessor(Fixtures.Path("processors", "processors", name, "preprocessor_config.json"), ImageProcessorKind.Fast);
        Assert.IsType<DPTImageProcessorFast>(processor);
        Assert.Equal(0, CompareStrict(processor, "processors_fast", name + "_fast", "forced fast"));
    }

    [Theory]
    [MemberData(nameof(DPTCases))]
    public void DPTFastConfigForcedSlowGivesTheSlowValues(string name)
    {
        var processor = ModelFamilies.LoadProcessor(Fixtures.Path("processors_fast", "processors", name + "_fast", "preprocessor_config.json"), ImageProcessorKind.Slow);
        Assert.IsType<DPTImageProcessor>(processor);
        Assert.Equal(0, CompareStrict(processor, "processors", name, "forced slow"));
    }

    /// <summary>
    /// The two flavours really differ, so the fixture tests above tell them apart: the slow values are off the fast
    /// fixture (one 8-bit step of the resize's rounding; with padding, the whole border, 0 against −mean/std).
    /// </summary>
    [Theory]
    [MemberData(nameof(DPTCases))]
    public void DPTSlowValuesAreOffTheFastFixture(string name)
    {
        var slow = ModelFamilies.LoadProcessor(Fixtures.Path("processors_fast", "processors", name + "_fast", "preprocessor_config.json"), ImageProcessorKind.Slow);
        int off = CompareStrict(slow, "processors_fast", name + "_fast", "slow against fast");
        Assert.True(off > 0, $"{name}: the slow processor gives the fast fixture's values");
    }

    [Fact]
    public void DPTFastPadsBeforeNormalising()
    {
        // A 3x2 picture padded to 4x4: the border is a zero byte normalised, (0 - 0.5) / 0.5 = -1, where the slow class leaves 0.
        var config = new ImageProcessorConfig
        {
            ImageProcessorType = "DPTImageProcessorFast", DoResize = false, DoPad = true, SizeDivisor = 4,
        };
        var pixels = Enumerable.Repeat((byte)255, 3 * 2 * 3).ToArray();
        var fast = new DPTImageProcessorFast(config).Preprocess([new RgbImage(3, 2, pixels)]);
        var slow = new DPTImageProcessor(config).Preprocess([new RgbImage(3, 2, pixels)]);
        Assert.Equal([1, 3, 4, 4], fast.Shape);
        // Top and left get half of the padding rounded down: rows 1-2 and columns 0-2 hold the picture.
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++)
            {
                bool inside = y is 1 or 2 && x < 3;
                Assert.Equal(inside ? 1f : -1f, fast.Data[y * 4 + x]);
                Assert.Equal(inside ? 1f : 0f, slow.Data[y * 4 + x]);
            }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void DPTFastRefusesFiltersTorchvisionLacksForTensors(int resample)
    {
        var e = Assert.Throws<ConfigException>(() => new DPTImageProcessorFast(new ImageProcessorConfig { Resample = resample }, "preprocessor_config.json"));
        Assert.Contains("resample", e.Message);
        Assert.Contains("preprocessor_config.json", e.Message);
    }
}
