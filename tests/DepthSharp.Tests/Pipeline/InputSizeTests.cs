using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Pipeline;

/// <summary>DepthEstimatorOptions.InputSize: the processor's size replaced, its rules kept, refused where it cannot apply.</summary>
public sealed class InputSizeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-inputsize-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string Relative = Fixtures.Path("models", "depth_anything_tiny_relative");

    [Fact]
    public void TheOptionResizesTheModelInputAndTheResultKeepsThePicturesSize()
    {
        var picture = ImageFile.Load(Path.Combine(Relative, "image0.png"));
        var standard = DepthEstimator.Load(Relative);
        var larger = DepthEstimator.Load(Relative, new DepthEstimatorOptions { InputSize = new InputSize(140, 140) });
        // 150×100 with keep_aspect_ratio and multiples of 14: 70×70 gives 70×112; 140×140 takes the width's scale 0.933,
        // 93.3×140, rounded to 98×140.
        Assert.Equal((70, 112), standard.InputSize(picture.Image));
        Assert.Equal((98, 140), larger.InputSize(picture.Image));
        var a = standard.Estimate(picture);
        var b = larger.Estimate(picture);
        Assert.Equal((150, 100), (b.Width, b.Height));
        Assert.NotEqual(a.Depth, b.Depth);
    }

    [Fact]
    public void GLPNResizesToTheSizeFlooredToItsDivisor()
    {
        string glpn = Fixtures.Path("models", "glpn_tiny");
        var picture = ImageFile.Load(Path.Combine(glpn, "image0.png"));
        var sized = DepthEstimator.Load(glpn, new DepthEstimatorOptions { InputSize = new InputSize(100, 200) });
        // GLPN has no size of its own: the given one, floored to multiples of size_divisor 32, whatever the picture's.
        Assert.Equal((96, 192), sized.InputSize(picture.Image));
        Assert.Equal([1, 3, 96, 192], sized.Preprocess([picture.Image]).Shape);
        var result = sized.Estimate(picture);
        Assert.Equal((picture.Image.Width, picture.Image.Height), (result.Width, result.Height));
        Assert.NotEqual(DepthEstimator.Load(glpn).InputSize(picture.Image), sized.InputSize(picture.Image));
    }

    [Theory]
    [InlineData("glpn_tiny", 60000, 200, "height and width must be 1 to 2048")]
    [InlineData("depth_anything_tiny_relative", 140, 3000, "height and width must be 1 to 2048")]
    [InlineData("glpn_tiny", 20, 200, "smaller than size_divisor 32")]
    public void SizesNoPictureCouldTakeAreRefusedOnLoading(string model, int height, int width, string message)
    {
        // GLPN takes the size as it is, not through the config's size, so both bounds must hold there too.
        var e = Assert.Throws<ConfigException>(() =>
            DepthEstimator.Load(Fixtures.Path("models", model), new DepthEstimatorOptions { InputSize = new InputSize(height, width) }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void DepthProRefusesIt()
    {
        var e = Assert.Throws<ConfigException>(() => DepthEstimator.Load(Fixtures.Path("models", "depth_pro_tiny"), new DepthEstimatorOptions { InputSize = new InputSize(512, 512) }));
        Assert.Contains("input size 512x512: DepthPro's network is built for its configured input", e.Message);
    }

    [Fact]
    public void AProcessorThatDoesNotResizeRefusesIt()
    {
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Relative, f), Path.Combine(_dir, f));
        string processor = File.ReadAllText(Path.Combine(Relative, "preprocessor_config.json")).Replace("\"do_resize\": true", "\"do_resize\": false");
        Assert.Contains("\"do_resize\": false", processor);
        File.WriteAllText(Path.Combine(_dir, "preprocessor_config.json"), processor);
        var e = Assert.Throws<ConfigException>(() => DepthEstimator.Load(_dir, new DepthEstimatorOptions { InputSize = new InputSize(140, 140) }));
        Assert.Contains("do_resize is false", e.Message);
        Assert.Equal(Path.Combine(_dir, "preprocessor_config.json"), e.FileName);
    }
}
