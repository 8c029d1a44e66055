using System.Net.Http.Headers;
using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Tests.Cli;
using DepthSharp.Web;

namespace DepthSharp.Tests.Pipeline;

/// <summary>
/// The rendering and export policy: which colouring each kind and family gets (as README.md documents it), the 16-bit
/// PNG and point clouds, and the command line and the web page giving the same picture for every family and kind.
/// </summary>
public sealed class DepthExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static DepthResult Result(float[] depth, DepthKind kind, DepthColoring coloring, double? focal = null) =>
        new(depth, depth.Length, 1, kind, null, focal, focal is null ? FocalLengthSource.None : FocalLengthSource.Model) { Coloring = coloring };

    /// <summary>The colour map entry (0 = far end, 255 = near end) each pixel of a one-row picture got.</summary>
    private static int[] LutIndices(RgbImage picture, Colormap map)
    {
        var lut = DepthRender.Lut(map).ToArray();
        return Enumerable.Range(0, picture.Width).Select(x =>
        {
            for (int i = 0; i < 256; i++)
                if (lut[3 * i] == picture.Pixels[3 * x] && lut[3 * i + 1] == picture.Pixels[3 * x + 1] && lut[3 * i + 2] == picture.Pixels[3 * x + 2]) return i;
            return -1;
        }).ToArray();
    }

    [Fact]
    public void NearIsWarmForEveryKindAndColouring()
    {
        // Depth 1, 2 and 4 (metres or up to scale), or inverse depth 1, 0.5 and 0.25 for the same three distances.
        // Over inverse depth: 1/d = 1, 0.5, 0.25, so the middle one sits at (0.5 - 0.25) / 0.75 of the range → entry 85;
        // linearly: -d = -1, -2, -4 → (−2 + 4) / 3 → entry 170.
        var cases = new (DepthKind Kind, DepthColoring Coloring, float[] Values, int Middle)[]
        {
            (DepthKind.Metric, DepthColoring.Inverse, [1f, 2f, 4f], 85),
            (DepthKind.Relative, DepthColoring.Inverse, [1f, 2f, 4f], 85),
            (DepthKind.RelativeInverse, DepthColoring.Inverse, [1f, 0.5f, 0.25f], 85),
            (DepthKind.Metric, DepthColoring.Linear, [1f, 2f, 4f], 170),
            (DepthKind.RelativeInverse, DepthColoring.Linear, [1f, 0.5f, 0.25f], 170),
        };
        foreach (var (kind, coloring, values, middle) in cases)
            Assert.Equal([255, middle, 0], LutIndices(DepthExport.Colorize(Result(values, kind, coloring), Colormap.Turbo), Colormap.Turbo));
    }

    [Fact]
    public void LinearColouringDrawsAZeroDepthThatAnInverseCannot()
    {
        float[] depth = [0f, 1f, 2f];
        // Over the inverse, 1/0 is left out of the range and drawn black; linearly it is the nearest point.
        Assert.Equal([-1, 255, 0], LutIndices(DepthExport.Colorize(Result(depth, DepthKind.Metric, DepthColoring.Inverse), Colormap.Viridis), Colormap.Viridis));
        Assert.Equal([255, 128, 0], LutIndices(DepthExport.Colorize(Result(depth, DepthKind.Metric, DepthColoring.Linear), Colormap.Viridis), Colormap.Viridis));
    }

    public static TheoryData<string, string, DepthKind, DepthColoring> Families => new()
    {
        // README.md: DepthPro and ZoeDepth coloured over inverse depth, metric Depth Anything and GLPN linearly with near
        // warm, relative models (inverse depth) as they are.
        { "depth_pro_tiny", "exif_focal_35mm.jpg", DepthKind.Metric, DepthColoring.Inverse },
        { "depth_pro_tiny_nofov_f16", "png_rgb8.png", DepthKind.Relative, DepthColoring.Inverse },
        { "zoedepth_tiny_nk", "png_rgb8.png", DepthKind.Metric, DepthColoring.Inverse },
        { "depth_anything_tiny_metric", "png_rgb8.png", DepthKind.Metric, DepthColoring.Linear },
        { "depth_anything_tiny_relative", "png_rgb8.png", DepthKind.RelativeInverse, DepthColoring.Inverse },
        { "dpt_tiny", "png_rgb8.png", DepthKind.RelativeInverse, DepthColoring.Inverse },
        { "glpn_tiny", "png_rgb8.png", DepthKind.Metric, DepthColoring.Linear },
    };

    /// <summary>`depthsharp estimate --format color` and the web app's colour picture (what the page draws) are the same pixels.</summary>
    [Theory]
    [MemberData(nameof(Families))]
    public async Task CommandLineAndWebPageColourAlike(string model, string picture, DepthKind kind, DepthColoring coloring)
    {
        string dir = Fixtures.Path("models", model), image = Fixtures.Path("images", picture), output = Path.Combine(_dir, "out");
        var estimator = DepthEstimator.Load(dir);
        var result = estimator.Estimate(ImageFile.Load(image));
        Assert.Equal((kind, coloring), (result.Kind, result.Coloring));

        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", image, "--model", dir, "--output", output, "--format", "color");
        Assert.True(code == 0, stderr);
        string stem = Path.Combine(output, Path.GetFileNameWithoutExtension(picture));
        var cli = PngDecoder.DecodeFile(stem + ".png").ToRgb8();
        using var json = JsonDocument.Parse(File.ReadAllBytes(stem + ".json"));

        await using var app = DepthServer.Build(o => o.Model = dir, model, new ServeOptions(), "http://127.0.0.1:0");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(60) };
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/depth") { Content = new ByteArrayContent(File.ReadAllBytes(image)) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
        var response = await client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        string id = response.Headers.GetValues("X-Result-Id").Single();
        var web = PngDecoder.Decode(await client.GetByteArrayAsync($"/api/results/{id}/color?colormap=turbo"), "web").ToRgb8();

        Assert.Equal((cli.Width, cli.Height), (web.Width, web.Height));
        Assert.Equal(cli.Pixels, web.Pixels);
        Assert.Equal(DepthExport.Colorize(result, Colormap.Turbo).Pixels, web.Pixels);
        Assert.Equal(json.RootElement.GetProperty("depth_kind").GetString(), response.Headers.GetValues("X-Depth-Kind").Single());
        Assert.Equal(json.RootElement.GetProperty("depth_is_inverse").GetBoolean() ? "true" : "false", response.Headers.GetValues("X-Depth-Inverse").Single());
    }

    [Fact]
    public void Png16HoldsMillimetresOnlyForMetricDepth()
    {
        float[] values = [0.25f, 1f, 2f];
        Assert.Equal(new ushort[] { 250, 1000, 2000 }, DepthExport.Png16(Result(values, DepthKind.Metric, DepthColoring.Inverse)));
        Assert.Equal(new ushort[] { 0, 28086, 65535 }, DepthExport.Png16(Result(values, DepthKind.Relative, DepthColoring.Inverse)));
        Assert.Equal(new ushort[] { 0, 28086, 65535 }, DepthExport.Png16(Result(values, DepthKind.RelativeInverse, DepthColoring.Inverse)));
    }

    [Fact]
    public void PointCloudsNeedAFocalLengthForMetricDepthAndAScaleForRelativeDepth()
    {
        var metric = Result([1f, 2f], DepthKind.Metric, DepthColoring.Inverse, focal: 100);
        Assert.Equal(PointCloudBlocker.None, DepthExport.PointCloudBlocker(metric));
        var points = DepthExport.PointCloud(metric);
        Assert.Equal([1f, 2f], points.Metres);
        Assert.Equal((100.0, false), (points.FocalLength, points.FocalLengthAssumed));

        var noFocal = Result([1f, 2f], DepthKind.Metric, DepthColoring.Inverse);
        Assert.Equal(PointCloudBlocker.NoFocalLength, DepthExport.PointCloudBlocker(noFocal));
        Assert.Equal(PointCloudBlocker.NoFocalLength, DepthExport.PointCloudBlocker(noFocal, relativeScale: 2));
        Assert.Throws<InvalidOperationException>(() => DepthExport.PointCloud(noFocal));

        // Inverse depth is inverted, then scaled: metres = scale / v; no depth where v ≤ 0. A 60° field of view when no focal length is known.
        var inverse = Result([0.5f, 2f, 0f], DepthKind.RelativeInverse, DepthColoring.Inverse);
        Assert.Equal(PointCloudBlocker.NoScale, DepthExport.PointCloudBlocker(inverse));
        var scaled = DepthExport.PointCloud(inverse, relativeScale: 3);
        Assert.Equal([6f, 1.5f, float.NaN], scaled.Metres);
        Assert.True(scaled.FocalLengthAssumed);
        Assert.Equal(1.5 / Math.Tan(Math.PI / 6), scaled.FocalLength, 12);

        var relative = Result([0.5f, 2f], DepthKind.Relative, DepthColoring.Inverse, focal: 50);
        var lifted = DepthExport.PointCloud(relative, relativeScale: 3);
        Assert.Equal([1.5f, 6f], lifted.Metres);
        Assert.Equal((50.0, false), (lifted.FocalLength, lifted.FocalLengthAssumed));
    }
}
