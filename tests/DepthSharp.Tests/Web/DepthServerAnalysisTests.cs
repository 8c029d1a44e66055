using System.Net;
using System.Text.Json;
using DepthSharp.Analysis;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Web;

namespace DepthSharp.Tests.Web;

/// <summary>Calibration, regions and intrinsics through the HTTP API, against the library's own answers.</summary>
public sealed class DepthServerAnalysisTests : IAsyncLifetime
{
    private static readonly string RelativeModel = Fixtures.Path("models", "depth_anything_tiny_relative");
    private static readonly string Photo = Path.Combine(RelativeModel, "image0.png");
    private TestServer? _server;

    public async Task InitializeAsync() =>
        _server = await TestServer.StartAsync(RelativeModel, "depth_anything_tiny_relative", new ServeOptions());

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> Post(string path, string? file = null)
    {
        var response = await _server!.Client.PostAsync(path, file is null ? null : new ByteArrayContent(File.ReadAllBytes(file)));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task KnownDepthsAndRegionsOnTheRequestGiveTheLibrarysCalibration()
    {
        var original = DepthEstimator.Load(RelativeModel).Estimate(ImageFile.Load(Photo));
        int near = Array.IndexOf(original.Depth, original.Depth.Max()), far = Array.IndexOf(original.Depth, original.Depth.Min());
        var points = new[] { new KnownDepth(near % 150, near / 150, 1.2), new KnownDepth(far % 150, far / 150, 7) };
        var expected = DepthCalibrator.Calibrate(original, points);
        var region = DepthRegions.Measure(expected.Depth, new DepthRegion(10, 20, 30, 40));

        var (status, body) = await Post($"/api/depth?known={points[0].X},{points[0].Y}=1.2&known={points[1].X},{points[1].Y}=7&region=10,20,30,40", Photo);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("metric", body.GetProperty("depth_kind").GetString());
        Assert.True(body.GetProperty("calibrated").GetBoolean());
        var fit = body.GetProperty("calibration");
        Assert.Equal("InverseScaleShift", fit.GetProperty("model").GetString());
        Assert.Equal(expected.Fit.Scale, fit.GetProperty("scale").GetDouble());
        Assert.Equal(expected.Fit.Shift, fit.GetProperty("shift").GetDouble());
        Assert.Equal(2, fit.GetProperty("points").GetArrayLength());
        Assert.True(fit.GetProperty("points")[0].TryGetProperty("residual", out _));
        var stats = body.GetProperty("regions")[0];
        Assert.Equal(region.Median, stats.GetProperty("median").GetDouble());
        Assert.Equal(region.P90, stats.GetProperty("p90").GetDouble());
        Assert.Equal(1200, stats.GetProperty("pixels").GetInt32());

        var raw = await _server!.Client.GetByteArrayAsync(body.GetProperty("outputs").GetProperty("raw").GetString());
        var values = new float[raw.Length / 4];
        Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
        Assert.Equal(expected.Depth.Depth, values);
        var kept = JsonDocument.Parse(await _server!.Client.GetStringAsync($"/api/results/{body.GetProperty("id").GetString()}")).RootElement;
        Assert.True(kept.GetProperty("calibrated").GetBoolean());
        Assert.Equal(fit.GetRawText(), kept.GetProperty("calibration").GetRawText());
        // No focal length known for this picture: the answer says so.
        Assert.Equal(JsonValueKind.Null, body.GetProperty("fx").ValueKind);
        Assert.Contains("no focal length known", body.GetProperty("intrinsics_missing").GetString());
    }

    [Fact]
    public async Task KeptResultsCanBeCalibratedAndMeasuredLater()
    {
        var (_, first) = await Post("/api/depth", Photo);
        Assert.False(first.GetProperty("calibrated").GetBoolean());
        string id = first.GetProperty("id").GetString()!;
        var relative = JsonDocument.Parse(await _server!.Client.GetStringAsync($"/api/results/{id}/regions?region=0,0,10,10")).RootElement;
        Assert.Equal(100, relative.GetProperty("regions")[0].GetProperty("pixels").GetInt32());

        var original = DepthEstimator.Load(RelativeModel).Estimate(ImageFile.Load(Photo));
        int near = Array.IndexOf(original.Depth, original.Depth.Max()), far = Array.IndexOf(original.Depth, original.Depth.Min());
        var (status, calibrated) = await Post($"/api/results/{id}/calibrate?known={near % 150},{near / 150}=1&known={far % 150},{far / 150}=4");
        Assert.Equal(HttpStatusCode.OK, status);
        string newId = calibrated.GetProperty("id").GetString()!;
        Assert.NotEqual(id, newId);
        var metres = JsonDocument.Parse(await _server!.Client.GetStringAsync($"/api/results/{newId}/regions?region=0,0,10,10")).RootElement.GetProperty("regions")[0];
        var expected = DepthRegions.Measure(DepthCalibrator.Calibrate(original, [new KnownDepth(near % 150, near / 150, 1), new KnownDepth(far % 150, far / 150, 4)]).Depth,
            new DepthRegion(0, 0, 10, 10));
        Assert.Equal(expected.Median, metres.GetProperty("median").GetDouble());

        // The kept calibrated result's summary reports its fit; the model's output reports none.
        var summary = JsonDocument.Parse(await _server!.Client.GetStringAsync($"/api/results/{newId}")).RootElement;
        Assert.True(summary.GetProperty("calibrated").GetBoolean());
        Assert.Equal("metric", summary.GetProperty("depth_kind").GetString());
        Assert.Equal(calibrated.GetProperty("calibration").GetRawText(), summary.GetProperty("calibration").GetRawText());
        var uncalibrated = JsonDocument.Parse(await _server!.Client.GetStringAsync($"/api/results/{id}")).RootElement;
        Assert.False(uncalibrated.GetProperty("calibrated").GetBoolean());
        Assert.Equal(JsonValueKind.Null, uncalibrated.GetProperty("calibration").ValueKind);

        // Calibrating the calibrated result starts again from the model's output.
        var (again, recalibrated) = await Post($"/api/results/{newId}/calibrate?known={near % 150},{near / 150}=1&known={far % 150},{far / 150}=4");
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.Equal(calibrated.GetProperty("calibration").GetProperty("scale").GetDouble(), recalibrated.GetProperty("calibration").GetProperty("scale").GetDouble());
    }

    [Theory]
    [InlineData("known=1,1=2&known=200,5=3", "outside the 150x100 picture")]
    [InlineData("known=1,1=2", "at least two known depths")]
    [InlineData("known=4,4=2&known=4,4=3", "same output")]
    [InlineData("known=1,1=0&known=2,2=3", "not a positive distance")]
    [InlineData("known=1,1", "expected X,Y=METRES")]
    [InlineData("region=140,90,20,20", "reaches outside")]
    [InlineData("region=1,2,3", "expected X,Y,W,H")]
    public async Task RefusalsAreBadRequestsWithTheReason(string query, string reason)
    {
        var (status, body) = await Post($"/api/depth?{query}", Photo);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(reason, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task UnknownResultsAreNotFound()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/api/results/nope/calibrate?known=1,1=2")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await _server!.Client.GetAsync("/api/results/nope/regions?region=0,0,1,1")).StatusCode);
    }
}
