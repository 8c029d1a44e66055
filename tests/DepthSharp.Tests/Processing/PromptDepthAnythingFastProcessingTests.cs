using System.Text.Json.Nodes;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

/// <summary>
/// PromptDepthAnythingImageProcessorFast. processors_fast has no case of its own, but its DPT cases are the same
/// torchvision resize and fused normalisation (both classes build on BaseImageProcessorFast with one output-size rule):
/// without padding the reference gives the DPT fast fixture's values; with padding it pads after normalising, so the
/// fixture's values inside and 0 (not DPT-fast's −mean/std) in the border.
/// </summary>
public sealed class PromptDepthAnythingFastProcessingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-pda-fast-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A processors_fast DPT config with image_processor_type set to <paramref name="type"/>, written to a file of its own.</summary>
    private string ConfigAs(string dptCase, string type)
    {
        var json = JsonNode.Parse(File.ReadAllText(Fixtures.Path("processors_fast", "processors", dptCase, "preprocessor_config.json")))!.AsObject();
        json["image_processor_type"] = type;
        string folder = Path.Combine(_dir, dptCase + "-" + type);
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "preprocessor_config.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    private static RgbImage Image(int i) => ImageFile.Load(Fixtures.Path("processors_fast", $"image{i}.png")).Image;

    private static Tensor PixelValues(IImageProcessor processor, RgbImage image)
    {
        var x = processor.Preprocess([image]);
        return x.Reshape(3, x.Dim(2), x.Dim(3));
    }

    [Theory]
    [InlineData("dpt_depth_anything_518_fast")]
    [InlineData("dpt_large_384_fast")]
    public void WithoutPaddingGivesTheTorchvisionValues(string dptCase)
    {
        var processor = ModelFamilies.LoadProcessor(ConfigAs(dptCase, "PromptDepthAnythingImageProcessorFast"));
        Assert.IsType<PromptDepthAnythingImageProcessorFast>(processor);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("processors_fast", "expected.safetensors"));
        for (int i = 0; i < 3; i++)
        {
            string key = $"{dptCase}.{i}.pixel_values";
            var (off, maxDiff, notIdentical) = Tolerance.PixelValuesStrict(key, expected.Read(key), PixelValues(processor, Image(i)));
            output.WriteLine($"{key}: {off} values off by more than 1e-5, max |Δ| {maxDiff:E2}, {notIdentical} not bit-identical");
            Assert.Equal(0, off);
        }
    }

    [Fact]
    public void PadsWithZerosAfterNormalising()
    {
        var processor = (PromptDepthAnythingImageProcessorFast)ModelFamilies.LoadProcessor(ConfigAs("dpt_pad_32_fast", "PromptDepthAnythingImageProcessorFast"));
        using var fixture = SafeTensorsFile.Open(Fixtures.Path("processors_fast", "expected.safetensors"));
        int borderValues = 0;
        for (int i = 0; i < 3; i++)
        {
            string key = $"dpt_pad_32_fast.{i}.pixel_values";
            var dptFast = fixture.Read(key);
            var image = Image(i);
            var (h, w) = processor.OutputSize(image.Height, image.Width);
            int ph = dptFast.Dim(1), pw = dptFast.Dim(2), top = (ph - h) / 2, left = (pw - w) / 2;
            // The reference pads the same picture region; only the border's value differs from DPT's fast class.
            var expected = new Tensor((float[])dptFast.Data.Clone(), dptFast.Shape);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < ph; y++)
                    for (int x = 0; x < pw; x++)
                    {
                        if (y >= top && y < top + h && x >= left && x < left + w) continue;
                        int at = (c * ph + y) * pw + x;
                        Assert.Equal(-1f, dptFast.Data[at]);
                        expected.Data[at] = 0f;
                        borderValues++;
                    }
            var (off, maxDiff, _) = Tolerance.PixelValuesStrict(key, expected, PixelValues(processor, image));
            output.WriteLine($"{key} [{ph}x{pw}, picture {h}x{w}]: {off} values off by more than 1e-5, max |Δ| {maxDiff:E2}");
            Assert.Equal(0, off);
        }
        Assert.True(borderValues > 0, "no picture was padded, so the test does not see where padding happens");
    }

    [Fact]
    public void DoPadWithoutASizeDivisorLeavesThePictureUnpadded()
    {
        // The reference's fast class pads only when size_divisor is set; its slow classes cannot pad without one.
        var config = new ImageProcessorConfig { DoResize = false, DoPad = true };
        var picture = new RgbImage(3, 2, Enumerable.Repeat((byte)255, 3 * 2 * 3).ToArray());
        var x = new PromptDepthAnythingImageProcessorFast(config, "preprocessor_config.json").Preprocess([picture]);
        Assert.Equal([1, 3, 2, 3], x.Shape);
        Assert.All(x.Data, v => Assert.Equal(1f, v));
        Assert.Throws<ConfigException>(() => new PromptDepthAnythingImageProcessor(config, "preprocessor_config.json"));
    }

    [Fact]
    public void KindPicksTheFlavour()
    {
        string slowConfig = ConfigAs("dpt_large_384_fast", nameof(PromptDepthAnythingImageProcessor));
        string fastConfig = ConfigAs("dpt_large_384_fast", nameof(PromptDepthAnythingImageProcessorFast));
        Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(slowConfig));
        Assert.IsType<PromptDepthAnythingImageProcessorFast>(ModelFamilies.LoadProcessor(slowConfig, ImageProcessorKind.Fast));
        Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(fastConfig, ImageProcessorKind.Slow));

        // The forced slow flavour gives the Pillow values, which are off the torchvision fixture: the two paths differ.
        var slow = ModelFamilies.LoadProcessor(fastConfig, ImageProcessorKind.Slow);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("processors_fast", "expected.safetensors"));
        string key = "dpt_large_384_fast.1.pixel_values";
        var (off, _, _) = Tolerance.PixelValuesStrict(key, expected.Read(key), PixelValues(slow, Image(1)));
        Assert.True(off > 0);
    }

    [Fact]
    public void PromptsAreScaledAsTheSlowClassScalesThem()
    {
        var fast = (PromptDepthAnythingImageProcessorFast)ModelFamilies.LoadProcessor(ConfigAs("dpt_large_384_fast", nameof(PromptDepthAnythingImageProcessorFast)));
        var prompt = new Tensor([1200f, 1500f, 3000f, 4500f, 800f, 2000f], 2, 3);
        var scaled = fast.Slow.PreprocessPromptDepth([prompt], 1);
        Assert.Equal([1, 1, 2, 3], scaled.Shape);
        // float32 times the float32-rounded 0.001, as torch multiplies a float32 tensor by a Python float.
        for (int i = 0; i < 6; i++) Assert.Equal(prompt.Data[i] * 0.001f, scaled.Data[i]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void RefusesFiltersTorchvisionLacksForTensors(int resample)
    {
        var e = Assert.Throws<ConfigException>(() => new PromptDepthAnythingImageProcessorFast(new ImageProcessorConfig { Resample = resample }, "preprocessor_config.json"));
        Assert.Contains("resample", e.Message);
        Assert.Contains("preprocessor_config.json", e.Message);
    }
}
