using DepthSharp.ImageSharp;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace DepthSharp.Tests.ImageSharp;

/// <summary>The ImageSharp adapter: pixels in as the library decodes them, depth out as L16 and coloured images.</summary>
public sealed class ImageSharpDepthTests
{
    private static byte[] Pixels(Image<Rgb24> image)
    {
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    [Theory]
    [InlineData("depth_pro_tiny")]
    [InlineData("depth_anything_tiny_relative")]
    public void PixelsRoundTripAsTheLibraryDecodesThePng(string model)
    {
        string png = Fixtures.Path("models", model, "image0.png");
        var library = ImageFile.Load(png).Image;

        using var rgb = Image.Load<Rgb24>(png);
        var fromRgb = rgb.ToRgbImage();
        Assert.Equal((library.Width, library.Height), (fromRgb.Width, fromRgb.Height));
        Assert.Equal(library.Pixels, fromRgb.Pixels);

        // Another pixel type is converted: RGBA loses its (opaque) alpha and gives the same bytes.
        using var rgba = Image.Load<Rgba32>(png);
        Assert.Equal(library.Pixels, rgba.ToRgbImage().Pixels);

        using var back = library.ToImageSharp();
        Assert.Equal(library.Pixels, Pixels(back));
    }

    [Fact]
    public async Task EstimateFromAnImageEqualsTheLibrarysFromTheFile()
    {
        string dir = Fixtures.Path("models", "depth_anything_tiny_metric"), png = Path.Combine(dir, "image0.png");
        var pipeline = await DepthPipeline.CreateAsync(dir);
        var expected = pipeline.Estimate(png).Depth.Depth;
        using var image = Image.Load<Rgb24>(png);
        Assert.Equal(expected, pipeline.Estimate(image).Depth.Depth);
        Assert.Equal(expected, (await pipeline.EstimateAsync(image)).Depth.Depth);
    }

    [Fact]
    public void MetricDepthBecomesExactMillimetres()
    {
        float[] metres = [0.5f, 1.25f, 2f, 0.0004f, 65.535f, 70f, float.NaN, -1f];
        var depth = new DepthResult(metres, 4, 2, DepthKind.Metric, null, null, FocalLengthSource.None);
        using var l16 = depth.ToL16Image();
        Assert.Equal((4, 2), (l16.Width, l16.Height));
        ushort[] expected = [500, 1250, 2000, 0, 65535, 65535, 0, 0];
        for (int i = 0; i < metres.Length; i++) Assert.Equal(expected[i], l16[i % 4, i / 4].PackedValue);
    }

    [Fact]
    public void RelativeDepthIsStretchedOverItsRange()
    {
        var depth = new DepthResult([2f, 4f, 3f, 6f], 2, 2, DepthKind.RelativeInverse, null, null, FocalLengthSource.None);
        using var l16 = depth.ToL16Image();
        // (v - 2) / 4 * 65535, rounded: 0, 32767.5 → 32768 (half to even), 16383.75 → 16384, 65535.
        Assert.Equal([0, 32768, 16384, 65535], new[] { l16[0, 0], l16[1, 0], l16[0, 1], l16[1, 1] }.Select(p => (int)p.PackedValue));
    }

    /// <summary>
    /// Near is warm, as the tool and the page draw each family: metric Depth Anything linearly (over −depth), relative
    /// Depth Anything's inverse depth as it is.
    /// </summary>
    [Theory]
    [InlineData("depth_anything_tiny_metric", true)]
    [InlineData("depth_anything_tiny_relative", false)]
    public async Task ColourImageIsDepthRendersWithNearWarm(string model, bool metric)
    {
        string dir = Fixtures.Path("models", model);
        var depth = (await DepthPipeline.CreateAsync(dir)).Estimate(Path.Combine(dir, "image0.png")).Depth;
        var drawn = metric ? depth.Depth.Select(d => -d).ToArray() : depth.Depth;
        foreach (var map in new[] { Colormap.Turbo, Colormap.Viridis })
        {
            var expected = DepthRender.Colorize(drawn, depth.Width, depth.Height, map, inverse: false);
            using var coloured = depth.ToColorImage(map);
            Assert.Equal((expected.Width, expected.Height), (coloured.Width, coloured.Height));
            Assert.Equal(expected.Pixels, Pixels(coloured));
        }
    }
}
