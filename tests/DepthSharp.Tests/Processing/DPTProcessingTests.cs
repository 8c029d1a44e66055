using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

public class DPTProcessingTests(ITestOutputHelper output)
{
    public static TheoryData<string> ModelCases => new()
    {
        "depth_anything_tiny_relative", "depth_anything_tiny_metric", "dpt_tiny", "dpt_hybrid_tiny", "dpt_beit_tiny", "dpt_swinv2_tiny",
    };

    private static string[] Images(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement.GetProperty("images")
            .EnumerateArray().Select(e => Path.Combine(dir, e.GetString()!)).ToArray();

    /// <summary>One 8-bit step of each channel after rescale and normalise.</summary>
    private static float[] Steps(DPTImageProcessor p) =>
        Enumerable.Range(0, 3).Select(c => (float)(p.Config.RescaleFactor / (p.Config.ImageStd?[c] ?? 0.5))).ToArray();

    private static DPTImageProcessor LoadProcessor(string path) =>
        Assert.IsType<DPTImageProcessor>(ModelFamilies.LoadProcessor(path));

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void PixelValuesMatchReference(string name)
    {
        string dir = Fixtures.Path("models", name);
        var processor = LoadProcessor(Path.Combine(dir, "preprocessor_config.json"));
        var images = Images(dir).Select(p => ImageFile.Load(p).Image).ToList();
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        int off = Tolerance.AssertPixelValues8BitClose("pixel_values", expected.Read("pixel_values"), processor.Preprocess(images), Steps(processor));
        output.WriteLine($"{name}: {off} values off by one 8-bit step");
        Assert.Equal(0, off);
    }

    [Theory]
    [InlineData("dpt_depth_anything_518")]
    [InlineData("dpt_large_384")]
    [InlineData("dpt_pad_32")]
    public void ProcessorFixturesMatchReference(string processorName)
    {
        var processor = LoadProcessor(Fixtures.Path("processors", "processors", processorName, "preprocessor_config.json"));
        using var expected = SafeTensorsFile.Open(Fixtures.Path("processors", "expected.safetensors"));
        int total = 0;
        for (int i = 0; i < 3; i++)
        {
            var image = ImageFile.Load(Fixtures.Path("processors", $"image{i}.png")).Image;
            var actual = processor.Preprocess([image]);
            actual = actual.Reshape(3, actual.Dim(2), actual.Dim(3));
            string key = $"{processorName}.{i}.pixel_values";
            int off = Tolerance.AssertPixelValues8BitClose(key, expected.Read(key), actual, Steps(processor));
            output.WriteLine($"{key} [{string.Join(", ", actual.Shape)}]: {off} of {actual.Length} values off by one 8-bit step");
            total += off;
        }
        // Pillow's resampling is reproduced value for value, so the allowance for 8-bit rounding is not needed.
        Assert.Equal(0, total);
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void PostProcessingMatchesReference(string name)
    {
        string dir = Fixtures.Path("models", name);
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        var images = Images(dir).Select(p => ImageFile.Load(p).Image).ToList();
        var post = DPTPostProcessor.Process(expected.Read("predicted_depth"), images.Select(i => (i.Height, i.Width)).ToList());
        for (int i = 0; i < images.Count; i++)
        {
            var key = $"post.{i}.predicted_depth";
            Tolerance.AssertModelClose(key, expected.Read(key), post[i]);
            output.WriteLine($"{name} {key}: {Tolerance.DescribeModel(expected.Read(key), post[i])}");
            int offByOne = AssertGray8Close($"pipeline.{i}.depth_u8", expected.Read($"pipeline.{i}.depth_u8").Data, DepthRender.PipelineGray8(post[i].Data));
            output.WriteLine($"{name} pipeline.{i}.depth_u8: {offByOne} pixels off by one");
        }
        var unresized = DPTPostProcessor.Process(expected.Read("predicted_depth"), null);
        Assert.Equal(expected.Read("predicted_depth").Data, unresized[0].Data);
    }

    [Fact]
    public void BicubicPostProcessingDipsBelowZeroLikeTheReference()
    {
        // A step edge overshoots under the cubic filter: the raw ReLU output has no negatives, the resized map does.
        var depth = new Tensor(new float[16], 1, 4, 4);
        for (int y = 0; y < 4; y++) depth.Data[y * 4 + 3] = 10f;
        var post = DPTPostProcessor.Process(depth, [(8, 8)])[0];
        Assert.True(post.Data.Min() < 0, "the resized map keeps the filter's undershoot");
    }

    /// <summary>The pipeline's 8-bit picture: equal except at most 0.5% of pixels off by one.</summary>
    internal static int AssertGray8Close(string name, float[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        int offByOne = 0;
        for (int p = 0; p < actual.Length; p++)
        {
            int d = Math.Abs(actual[p] - (int)expected[p]);
            Assert.True(d <= 1, $"{name}: pixel {p} is {actual[p]}, expected {expected[p]}");
            offByOne += d;
        }
        Assert.True(offByOne <= actual.Length * 0.005, $"{name}: {offByOne} pixels off by one");
        return offByOne;
    }
}
