using System.Text;
using System.Text.Json;
using DepthSharp.Analysis;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Cli;

/// <summary>`depthsharp estimate` with calibration, regions, intrinsics and --input-size, run as a process.</summary>
public sealed class AnalysisCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-analysis-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Model(string name) => Fixtures.Path("models", name);

    private static string Picture(string model) => Path.Combine(Model(model), "image0.png");

    private (int Code, string Stderr, string Out) Estimate(string model, string picture, params string[] extra)
    {
        string output = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), ["estimate", picture, "--model", Model(model), "--output", output, .. extra]);
        return (code, stderr, output);
    }

    private static JsonElement Json(string output, string stem) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, stem + ".json"))).RootElement;

    private static readonly Lazy<DepthResult> Relative = new(() => DepthEstimator.Load(Model("depth_anything_tiny_relative")).Estimate(ImageFile.Load(Picture("depth_anything_tiny_relative"))));

    /// <summary>The nearest pixel (largest inverse depth) and the farthest of the relative fixture's output.</summary>
    private static ((int X, int Y) Near, (int X, int Y) Far) Extremes()
    {
        var r = Relative.Value;
        int near = Array.IndexOf(r.Depth, r.Depth.Max()), far = Array.IndexOf(r.Depth, r.Depth.Min());
        return ((near % r.Width, near / r.Width), (far % r.Width, far / r.Width));
    }

    [Fact]
    public void CalibratedOutputsCarryMetresAndTheJsonGivesTheFit()
    {
        var (near, far) = Extremes();
        string csv = Path.Combine(_dir, "known.csv");
        File.WriteAllText(csv, $"x,y,metres\n# the far wall\n{far.X},{far.Y},6\n");
        var (code, stderr, output) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"),
            "--known-depth", $"{near.X},{near.Y}=1.5", "--known-depths", csv, "--focal-length", "120", "--format", "npy", "pfm", "png16", "ply");
        Assert.True(code == 0, stderr);

        var json = Json(output, "image0");
        Assert.Equal("metric", json.GetProperty("depth_kind").GetString());
        Assert.Equal("metres", json.GetProperty("depth_units").GetString());
        Assert.True(json.GetProperty("calibrated").GetBoolean());
        var fit = json.GetProperty("calibration");
        Assert.Equal("1 / depth = scale * output + shift", fit.GetProperty("fit").GetString());
        var points = fit.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal(2, points.Count);
        Assert.Equal(1.5, points[0].GetProperty("metres").GetDouble());
        Assert.Equal(6, points[1].GetProperty("metres").GetDouble());
        // Two points, two parameters: the fit passes through both.
        Assert.All(points, p => Assert.True(Math.Abs(p.GetProperty("residual").GetDouble()) < 1e-6));
        Assert.True(fit.GetProperty("rms_metres").GetDouble() < 1e-6);

        var expected = DepthCalibrator.Calibrate(Relative.Value, [new KnownDepth(near.X, near.Y, 1.5), new KnownDepth(far.X, far.Y, 6)]).Depth.Depth;
        var npy = Npy.Read(Path.Combine(output, "image0.npy")).Float32!;
        Assert.Equal(expected, npy);
        Assert.Equal(1.5f, npy[near.Y * 150 + near.X], 4);
        // PFM: rows bottom to top; the 16-bit PNG: millimetres.
        var pfm = File.ReadAllBytes(Path.Combine(output, "image0.pfm"));
        int header = Encoding.ASCII.GetByteCount("Pf\n150 100\n-1.0\n");
        Assert.Equal(npy[99 * 150], BitConverter.ToSingle(pfm, header));
        var png16 = PngDecoder.DecodeFile(Path.Combine(output, "image0_16bit.png")).Samples16!;
        Assert.Equal((ushort)Math.Round(npy[near.Y * 150 + near.X] * 1000.0), png16[near.Y * 150 + near.X]);
        Assert.Equal((ushort)Math.Round(npy[far.Y * 150 + far.X] * 1000.0), png16[far.Y * 150 + far.X]);
        // The point cloud of a calibrated relative model: every pixel, in metres.
        string ply = Encoding.ASCII.GetString(File.ReadAllBytes(Path.Combine(output, "image0.ply")).AsSpan(0, 300));
        Assert.Contains("element vertex 15000", ply);
        Assert.Contains("comment intrinsics fx 120 fy 120 cx 74.5 cy 49.5", ply);
    }

    [Theory]
    [InlineData("10,10=0", "not a positive distance")]
    [InlineData("10,10=-3", "not a positive distance")]
    [InlineData("10,10=NaN", "not a positive distance")]
    [InlineData("10,10=Infinity", "not a positive distance")]
    [InlineData("10,10=far", "not a number of metres")]
    [InlineData("10=4", "expected X,Y=METRES")]
    public void BadKnownDepthIsRefusedBeforeLoading(string value, string reason)
    {
        var (code, stderr, output) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"), "--known-depth", "1,1=2", "--known-depth", value);
        Assert.Equal(1, code);
        Assert.Contains(reason, stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void BadKnownDepthsFileIsRefused()
    {
        string csv = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(csv, "1,1,2\n5,5,-1\n");
        var (code, stderr, _) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"), "--known-depths", csv);
        Assert.Equal(1, code);
        Assert.Contains($"{csv}: line 2: -1 m is not a positive distance", stderr);
        (code, stderr, _) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"), "--known-depths", Path.Combine(_dir, "missing.csv"));
        Assert.Equal(1, code);
        Assert.Contains("missing.csv", stderr);
    }

    [Fact]
    public void RefusedFitsAreReportedAndNothingIsWritten()
    {
        var (near, far) = Extremes();
        foreach (var (points, reason) in new[]
        {
            (new[] { "1,1=2", "150,10=3" }, "(150, 10) is outside the 150x100 picture"),
            (new[] { "1,1=2" }, "at least two known depths"),
            (new[] { "7,7=2", "7,7=3" }, "same output"),
            // The nearest output said to be far and the farthest near: the line fitted through three points crosses zero.
            (new[] { $"{near.X},{near.Y}=10", $"{far.X},{far.Y}=1", "75,50=5" }, "negative or non-finite depth"),
        })
        {
            var (code, stderr, output) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"),
                [.. points.SelectMany(p => new[] { "--known-depth", p })]);
            Assert.Equal(2, code); // some pictures failed
            Assert.Contains(reason, stderr);
            Assert.False(File.Exists(Path.Combine(output, "image0.json")), reason);
        }
    }

    [Fact]
    public void RegionsGiveTheirStatisticsInCalibratedMetres()
    {
        var (near, far) = Extremes();
        var (code, stderr, output) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"),
            "--known-depth", $"{near.X},{near.Y}=1", "--known-depth", $"{far.X},{far.Y}=5", "--region", "0,0,20,10", "--region", "100,50,50,50", "--format", "npy");
        Assert.True(code == 0, stderr);
        var npy = Npy.Read(Path.Combine(output, "image0.npy")).Float32!;
        var regions = Json(output, "image0").GetProperty("regions").EnumerateArray().ToList();
        Assert.Equal(2, regions.Count);
        foreach (var (region, (x, y, w, h)) in regions.Zip(new[] { (0, 0, 20, 10), (100, 50, 50, 50) }))
        {
            Assert.Equal(w * h, region.GetProperty("pixels").GetInt32());
            var values = Enumerable.Range(y, h).SelectMany(row => Enumerable.Range(x, w).Select(col => (double)npy[row * 150 + col])).Order().ToList();
            // An even count: the median is the mean of the middle two.
            Assert.Equal((values[w * h / 2 - 1] + values[w * h / 2]) / 2, region.GetProperty("median").GetDouble(), 9);
            Assert.Equal(values[0], region.GetProperty("min").GetDouble(), 9);
            Assert.Equal(values.Average(), region.GetProperty("mean").GetDouble(), 6);
            Assert.InRange(region.GetProperty("p10").GetDouble(), values[0], region.GetProperty("median").GetDouble());
            Assert.InRange(region.GetProperty("p90").GetDouble(), region.GetProperty("median").GetDouble(), values[^1]);
        }
    }

    [Fact]
    public void RegionOutsideThePictureIsRefused()
    {
        var (code, stderr, _) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"), "--region", "140,90,20,20");
        Assert.Equal(2, code); // some pictures failed
        Assert.Contains("region 140,90,20,20 reaches outside the 150x100 picture", stderr);
        (code, stderr, _) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"), "--region", "1,1,0,5");
        Assert.Equal(1, code);
        Assert.Contains("width and height must be positive", stderr);
    }

    [Theory]
    [InlineData("zoedepth_tiny_nk")]
    [InlineData("depth_anything_tiny_metric")]
    public void MetricModelsTakeTheExifFocalLengthIntoTheJsonAndPointCloud(string model)
    {
        string jpeg = Fixtures.Path("images", "exif_focal_35mm.jpg");
        double exif = ImageFile.Load(jpeg).ExifFocalLengthPixels!.Value;
        var (code, stderr, output) = Estimate(model, jpeg, "--format", "ply");
        Assert.True(code == 0, stderr);
        var json = Json(output, "exif_focal_35mm");
        Assert.Equal("exif", json.GetProperty("focal_length_source").GetString());
        Assert.Equal(exif, json.GetProperty("fx").GetDouble());
        Assert.Equal(exif, json.GetProperty("fy").GetDouble());
        Assert.Equal(79.5, json.GetProperty("cx").GetDouble());
        Assert.Equal(119.5, json.GetProperty("cy").GetDouble());
        Assert.False(json.TryGetProperty("intrinsics_missing", out _));
        Assert.True(File.Exists(Path.Combine(output, "exif_focal_35mm.ply")));

        // The user's focal length comes first; without EXIF and without one, the JSON says why and no PLY is written.
        (code, stderr, output) = Estimate(model, jpeg, "--format", "ply", "--focal-length", "200");
        Assert.Equal(200, Json(output, "exif_focal_35mm").GetProperty("fx").GetDouble());
        (code, stderr, output) = Estimate(model, Picture(model), "--format", "ply");
        Assert.Equal(0, code);
        json = Json(output, "image0");
        Assert.Equal(JsonValueKind.Null, json.GetProperty("fx").ValueKind);
        Assert.Contains("no focal length known", json.GetProperty("intrinsics_missing").GetString());
        Assert.Contains("image0.ply skipped: no focal length known", stderr);
        Assert.False(File.Exists(Path.Combine(output, "image0.ply")));
        (code, stderr, output) = Estimate(model, jpeg, "--format", "ply", "--no-exif-focal");
        Assert.Equal(JsonValueKind.Null, Json(output, "exif_focal_35mm").GetProperty("fx").ValueKind);
    }

    [Fact]
    public void DepthProReportsTheFocalLengthOfItsFieldOfViewHead()
    {
        var (code, stderr, output) = Estimate("depth_pro_tiny", Picture("depth_pro_tiny"), "--format", "npy");
        Assert.True(code == 0, stderr);
        var json = Json(output, "image0");
        Assert.Equal("model", json.GetProperty("focal_length_source").GetString());
        Assert.Equal(json.GetProperty("focal_length").GetDouble(), json.GetProperty("fx").GetDouble());
        Assert.Equal(74.5, json.GetProperty("cx").GetDouble());
    }

    [Theory]
    // Depth Anything (70×70, keep_aspect_ratio, multiple of 14) on a 150×100 picture: by default the height's scale 0.7
    // changes it least → 70 × 105 → 70 × 112 (105/14 = 7.5 rounds to 8). At 140: the width's 0.933 → 93.3 × 140 → 98 × 140.
    [InlineData("depth_anything_tiny_relative", null, "70x112")]
    [InlineData("depth_anything_tiny_relative", "140", "98x140")]
    [InlineData("depth_anything_tiny_relative", "84x112", "84x126")]
    // DPT (64×64, no aspect kept) on 113×75: the size itself.
    [InlineData("dpt_tiny", "96", "96x96")]
    public void InputSizeOverridesTheProcessorsSize(string model, string? size, string input)
    {
        var (code, stderr, output) = Estimate(model, Picture(model), [.. size is null ? Array.Empty<string>() : ["--input-size", size], "--format", "npy"]);
        Assert.True(code == 0, stderr);
        Assert.Contains($"image0.png ({input} input)", stderr);
        var npy = Npy.Read(Path.Combine(output, "image0.npy"));
        var picture = ImageFile.Load(Picture(model)).Image;
        Assert.Equal([picture.Height, picture.Width], npy.Shape);
    }

    [Theory]
    [InlineData("0", "expected N or HxW")]
    [InlineData("12x", "expected N or HxW")]
    [InlineData("-5", "expected N or HxW")]
    public void BadInputSizeIsRefused(string size, string reason)
    {
        var (code, stderr, _) = Estimate("depth_anything_tiny_relative", Picture("depth_anything_tiny_relative"), "--input-size", size);
        Assert.Equal(1, code);
        Assert.Contains(reason, stderr);
    }

    [Fact]
    public void DepthProRefusesAnInputSize()
    {
        var (code, stderr, _) = Estimate("depth_pro_tiny", Picture("depth_pro_tiny"), "--input-size", "512");
        Assert.Equal(1, code);
        Assert.Contains("DepthPro's network is built for its configured input", stderr);
    }
}
