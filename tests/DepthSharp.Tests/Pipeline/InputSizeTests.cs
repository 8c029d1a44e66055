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
