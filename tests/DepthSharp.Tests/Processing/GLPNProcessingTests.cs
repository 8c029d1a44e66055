using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Processing;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

public class GLPNProcessingTests(ITestOutputHelper output)
{
    private static readonly string Dir = Fixtures.Path("models", "glpn_tiny");

    private static GLPNImageProcessor Processor() =>
        Assert.IsType<GLPNImageProcessor>(IImageProcessor.Load(Path.Combine(Dir, "preprocessor_config.json")));

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
        var e = Assert.Throws<ArgumentException>(() => Processor().Preprocess([new RgbImage(100, 31, new byte[100 * 31 * 3])]));
        Assert.Contains("size_divisor", e.Message);
    }
}
