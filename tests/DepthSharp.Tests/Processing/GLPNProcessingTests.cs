using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

public class GLPNProcessingTests(ITestOutputHelper output)
{
    private static readonly string Dir = Fixtures.Path("models", "glpn_tiny");

    private static GLPNImageProcessor Processor() =>
        Assert.IsType<GLPNImageProcessor>(ModelFamilies.LoadProcessor(Path.Combine(Dir, "preprocessor_config.json")));

    [Fact]
    public void PixelValuesMatchReference()
    {
        var processor = Processor();
        var image = ImageFile.Load(Path.Combine(Dir, "image0.png")).Image;
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        // 100×150 floored to multiples of 32: 96×128, resized (not cropped) with Pillow's bilinear filter.
        var actual = processor.Preprocess([image]);
        Assert.Equal([1, 3, 96, 128], actual.Shape);
        float step = (float)processor.Config.RescaleFactor;
        int off = Tolerance.AssertPixelValues8BitClose("pixel_values", expected.Read("pixel_values"), actual, [step, step, step]);
        output.WriteLine($"{off} values off by one 8-bit step");
        Assert.Equal(0, off);
    }

    [Fact]
    public void PostProcessingMatchesReference()
    {
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var image = ImageFile.Load(Path.Combine(Dir, "image0.png")).Image;
        var post = GLPNImageProcessor.PostProcessDepthEstimation(expected.Read("predicted_depth"), [(image.Height, image.Width)]);
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), post[0]);
        output.WriteLine($"post.0.predicted_depth: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), post[0])}");
        int offByOne = DPTProcessingTests.AssertGray8Close("pipeline.0.depth_u8", expected.Read("pipeline.0.depth_u8").Data, DepthRender.PipelineGray8(post[0].Data));
        output.WriteLine($"pipeline.0.depth_u8: {offByOne} pixels off by one");

        var unresized = GLPNImageProcessor.PostProcessDepthEstimation(expected.Read("predicted_depth"), null);
        Assert.Equal(expected.Read("predicted_depth").Data, unresized[0].Data);
    }

    [Fact]
    public void SidesAreFlooredToTheDivisorAndOnlyRescaled()
    {
        var processor = new GLPNImageProcessor(new ImageProcessorConfig { SizeDivisor = 16, DoNormalize = true, ImageMean = [0.5, 0.5, 0.5] });
        Assert.Equal((48, 16), processor.OutputSize(63, 31));
        // A picture already at a multiple is not resampled; normalisation settings are ignored, as the reference has none.
        var pixels = new byte[16 * 32 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 % 256);
        var x = processor.Preprocess([new RgbImage(16, 32, pixels)]);
        Assert.Equal([1, 3, 32, 16], x.Shape);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 16 * 32; p++)
                Assert.Equal((float)(pixels[p * 3 + c] / 255.0), x.Data[c * 16 * 32 + p]);
    }

    [Fact]
    public void WithoutResizeOrRescaleThePictureIsKeptAsIs()
    {
        var processor = new GLPNImageProcessor(new ImageProcessorConfig { DoResize = false, DoRescale = false });
        var image = new RgbImage(5, 3, Enumerable.Range(0, 45).Select(i => (byte)(i * 5)).ToArray());
        var x = processor.Preprocess([image]);
        Assert.Equal([1, 3, 3, 5], x.Shape);
        Assert.Equal(image.Pixels[3 * 7 + 2], x.Data[2 * 15 + 7]);
    }

    [Fact]
    public void APictureSmallerThanTheDivisorIsRefused()
    {
        var e = Assert.Throws<ImageFormatException>(() => Processor().Preprocess([new RgbImage(100, 31, new byte[100 * 31 * 3])]));
        Assert.Contains("size_divisor", e.Message);
    }

    [Theory]
    [InlineData("GLPNImageProcessor", ImageProcessorKind.Auto, typeof(GLPNImageProcessor))]
    [InlineData("GLPNImageProcessorFast", ImageProcessorKind.Auto, typeof(GLPNImageProcessorFast))]
    [InlineData("GLPNImageProcessorFast", ImageProcessorKind.Slow, typeof(GLPNImageProcessor))]
    [InlineData("GLPNImageProcessor", ImageProcessorKind.Fast, typeof(GLPNImageProcessorFast))]
    public void KindPicksTheSlowOrFastClass(string type, ImageProcessorKind kind, Type expected)
    {
        var config = ImageProcessorConfig.Load(Path.Combine(Dir, "preprocessor_config.json"));
        config.ImageProcessorType = type;
        Assert.IsType(expected, ModelFamilies.ForModelType("glpn").CreateProcessor(config, null, kind));
    }

    /// <summary>
    /// transformers' fast class resizes with torchvision's uint8 kernel, whose coarser weights put a few values one 8-bit
    /// step from Pillow's (the fixtures hold no GLPN fast case; the resize itself is matched bit for bit on DPT's).
    /// </summary>
    [Fact]
    public void TheFastFlavourResizesWithTorchvisionAndOnlyRescales()
    {
        var config = ImageProcessorConfig.Load(Path.Combine(Dir, "preprocessor_config.json"));
        var image = ImageFile.Load(Path.Combine(Dir, "image0.png")).Image;
        var slow = new GLPNImageProcessor(config).Preprocess([image]);
        var fast = new GLPNImageProcessorFast(config).Preprocess([image]);
        Assert.Equal(slow.Shape, fast.Shape);
        int offByOneStep = 0;
        for (int i = 0; i < slow.Data.Length; i++)
        {
            float steps = Math.Abs(slow.Data[i] - fast.Data[i]) * 255;
            Assert.True(steps < 1.001f, $"value {i}: slow {slow.Data[i]}, fast {fast.Data[i]}");
            if (steps > 0.5f) offByOneStep++;
        }
        output.WriteLine($"{offByOneStep} of {slow.Data.Length} values one step apart");
        Assert.InRange(offByOneStep, 1, slow.Data.Length / 100);

        // Normalisation settings are ignored by both flavours; a picture at a multiple of 32 is not resampled.
        var normalizing = new ImageProcessorConfig { DoNormalize = true, ImageMean = [0.5, 0.5, 0.5], ImageStd = [0.25, 0.25, 0.25] };
        var aligned = new RgbImage(32, 64, Enumerable.Range(0, 32 * 64 * 3).Select(i => (byte)(i * 11 % 256)).ToArray());
        var x = new GLPNImageProcessorFast(normalizing).Preprocess([aligned]);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 32 * 64; p++)
                Assert.Equal(aligned.Pixels[p * 3 + c] * (1 / 255f), x.Data[c * 32 * 64 + p]);
    }

    [Fact]
    public void TheFastFlavourRefusesFiltersTorchvisionLacks()
    {
        var e = Assert.Throws<ConfigException>(() => new GLPNImageProcessorFast(new ImageProcessorConfig { Resample = 1 }, "preprocessor_config.json"));
        Assert.Contains("resample:", e.Message);
    }
}
