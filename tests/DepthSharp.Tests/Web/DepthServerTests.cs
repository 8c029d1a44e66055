using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Web;

namespace DepthSharp.Tests.Web;

/// <summary>The HTTP API on a real Kestrel server bound to a free loopback port, with the tiny DepthPro model.</summary>
/// <remarks>Runs alone (the non-parallel kernel collection) so the load test's memory reading is the server's own.</remarks>
[Collection(nameof(DepthSharp.Tests.Kernels.KernelOptionsCollection))]
public sealed class DepthServerTests : IAsyncLifetime
{
    private static readonly string TinyModel = Fixtures.Path("models", "depth_pro_tiny");
    private static readonly DepthEstimator Estimator = DepthEstimator.Load(TinyModel);
    private TestServer? _server;

    private async Task<HttpClient> Start(ServeOptions options, string? model = null)
    {
        _server = await TestServer.StartAsync(model ?? TinyModel, "depth_pro_tiny", options);
        return _server.Client;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private static ByteArrayContent Picture(string file) => new(File.ReadAllBytes(Fixtures.Path("images", file)));

    [Fact]
    public async Task HealthAndModelAnswer()
    {
        var client = await Start(new ServeOptions());
        // /api/model waits for the model's load; the health check then names it.
        var model = JsonDocument.Parse(await client.GetStringAsync("/api/model")).RootElement;
        Assert.Equal("depth_pro", model.GetProperty("model_type").GetString());
        Assert.Equal("depth_pro_tiny", model.GetProperty("name").GetString());
        var health = await client.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Contains("depth_pro model", body.GetProperty("description").GetString());
    }

    [Fact]
    public async Task ModelThatCannotLoadIsReportedWithTheReason()
    {
        string empty = Directory.CreateTempSubdirectory("depthsharp-server-noconfig-").FullName;
        try
        {
            var client = await Start(new ServeOptions(), empty);
            var model = await client.GetAsync("/api/model");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, model.StatusCode);
            Assert.Contains("config.json", JsonDocument.Parse(await model.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsync("/api/depth", Picture("exif_focal_35mm.jpg"))).StatusCode);

            var health = await client.GetAsync("/api/health");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("unhealthy", body.GetProperty("status").GetString());
            Assert.Contains("config.json", body.GetProperty("description").GetString());
        }
        finally { Directory.Delete(empty, recursive: true); }
    }

    [Fact]
    public async Task DepthEqualsTheLibrarysOutput()
    {
        var client = await Start(new ServeOptions());
        var expected = Estimator.Estimate(ImageFile.Load(Fixtures.Path("images", "exif_focal_35mm.jpg")));

        var json = await client.PostAsync("/api/depth", Picture("exif_focal_35mm.jpg"));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var summary = JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected.Width, summary.GetProperty("width").GetInt32());
        Assert.Equal("exif", summary.GetProperty("focal_length_source").GetString());
        Assert.Equal(expected.FocalLength!.Value, summary.GetProperty("focal_length").GetDouble(), 9);

        var request = new HttpRequestMessage(HttpMethod.Post, "/api/depth") { Content = Picture("exif_focal_35mm.jpg") };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
        var raw = await client.SendAsync(request);
        Assert.Equal(expected.Width.ToString(System.Globalization.CultureInfo.InvariantCulture), raw.Headers.GetValues("X-Depth-Width").Single());
        Assert.Equal(expected.Height.ToString(System.Globalization.CultureInfo.InvariantCulture), raw.Headers.GetValues("X-Depth-Height").Single());
        var bytes = await raw.Content.ReadAsByteArrayAsync();
        var depth = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, depth, 0, bytes.Length);
        Assert.Equal(expected.Depth, depth);
    }

    [Fact]
    public async Task SummaryGivesTheIntrinsicsInUse()
    {
        var client = await Start(new ServeOptions());
        var body = JsonDocument.Parse(await (await client.PostAsync("/api/depth", Picture("exif_focal_35mm.jpg"))).Content.ReadAsStringAsync()).RootElement;
        double exif = ImageFile.Load(Fixtures.Path("images", "exif_focal_35mm.jpg")).ExifFocalLengthPixels!.Value;
        Assert.Equal("exif", body.GetProperty("focal_length_source").GetString());
        Assert.Equal(exif, body.GetProperty("fx").GetDouble());
        Assert.Equal(exif, body.GetProperty("fy").GetDouble());
        Assert.Equal(79.5, body.GetProperty("cx").GetDouble());
        Assert.Equal(119.5, body.GetProperty("cy").GetDouble());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("intrinsics_missing").ValueKind);
    }

    [Fact]
    public async Task OutputLinksServeEveryFormat()
    {
        var client = await Start(new ServeOptions());
        var response = await client.PostAsync("/api/depth", Picture("exif_focal_35mm.jpg"));
        var summary = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var outputs = summary.GetProperty("outputs").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(["color", "gray8", "npy", "pfm", "ply", "png16", "raw", "side-by-side"], outputs.Keys.Order().ToArray());
        foreach (var (format, link) in outputs)
        {
            var file = await client.GetAsync(link);
            Assert.True(file.StatusCode == HttpStatusCode.OK, $"{format}: {file.StatusCode}");
            var bytes = await file.Content.ReadAsByteArrayAsync();
            Assert.True(bytes.Length > 100, $"{format}: {bytes.Length} bytes");
            if (format is "color" or "gray8" or "png16" or "side-by-side") Assert.NotNull(PngDecoder.Decode(bytes, format));
        }
        var npy = DepthSharp.IO.Npy.Read(await client.GetByteArrayAsync(outputs["npy"]));
        var expected = Estimator.Estimate(ImageFile.Load(Fixtures.Path("images", "exif_focal_35mm.jpg")));
        Assert.Equal(expected.Depth, npy.Float32);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/results/nothing/npy")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync(outputs["npy"].Replace("/npy", "/bmp"))).StatusCode);
    }

    [Fact]
    public async Task SlowRequestsTimeOut()
    {
        var client = await Start(new ServeOptions { RequestTimeout = TimeSpan.FromMilliseconds(1) });
        // A 12-megapixel picture: resizing it to the model's input alone takes far longer than the timeout, so the
        // request is past it at the forward pass's first progress report, whatever the machine's speed.
        var pixels = new byte[4000 * 3000 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i / 3 % 4000 * 255 / 4000);
        var big = new ByteArrayContent(PngEncoder.EncodeRgb8(new RgbImage(4000, 3000, pixels)));
        var response = await client.PostAsync("/api/depth", big);
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    [Fact]
    public async Task PageAndBundledScriptsAreServed()
    {
        var client = await Start(new ServeOptions());
        Assert.Contains("importmap", await client.GetStringAsync("/"));
        foreach (var path in new[] { "/app.js", "/vendor/three.module.js", "/vendor/three.core.js", "/vendor/OrbitControls.js" })
            Assert.True((await client.GetByteArrayAsync(path)).Length > 1000, path);
    }

    [Fact]
    public async Task MultipartUploadsWork()
    {
        var client = await Start(new ServeOptions());
        using var form = new MultipartFormDataContent { { Picture("baseline_420_q75.jpg"), "file", "photo.jpg" } };
        var response = await client.PostAsync("/api/depth", form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("bad_truncated.jpg", HttpStatusCode.BadRequest)]
    [InlineData("bad_crc.png", HttpStatusCode.BadRequest)]
    [InlineData("bad_huge_dimensions.png", HttpStatusCode.BadRequest)]
    [InlineData("cases.json", HttpStatusCode.UnsupportedMediaType)]
    public async Task BadPicturesGetTheDecodersMessage(string file, HttpStatusCode status)
    {
        var client = await Start(new ServeOptions());
        var response = await client.PostAsync("/api/depth", Picture(file));
        Assert.Equal(status, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task LimitsRefuseLargeBodiesAndPictures()
    {
        var client = await Start(new ServeOptions { MaxBodyBytes = 1000, MaxPixels = 100 });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.PostAsync("/api/depth", Picture("exif_focal_35mm.jpg"))).StatusCode);
        var tiny = PngEncoder.EncodeRgb8(new RgbImage(20, 20, new byte[20 * 20 * 3]));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/api/depth", new ByteArrayContent(tiny))).StatusCode);
    }

    /// <summary>200 requests from 16 concurrent clients: each gets the library's exact result or a 503; none hangs; memory stays bounded.</summary>
    [Fact]
    public async Task ConcurrentClientsGetResultsOrBusy()
    {
        var client = await Start(new ServeOptions { MaxConcurrent = 1, MaxQueue = 2 });
        var expected = Estimator.Estimate(ImageFile.Load(Fixtures.Path("images", "baseline_420_q75.jpg")));
        var bytes = File.ReadAllBytes(Fixtures.Path("images", "baseline_420_q75.jpg"));
        var gate = new SemaphoreSlim(16);
        // One request first, so that what the server and the runtime set up once is not counted as growth.
        Assert.Equal(HttpStatusCode.OK, await Request());
        long before = GC.GetTotalMemory(forceFullCollection: true);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            await gate.WaitAsync();
            try { return await Request(); }
            finally { gate.Release(); }
        }));
        long after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"status {s}"));
        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, statuses);
        // The server keeps only the last KeptResults results (16 × ~0.5 MB here); anything per request left alive would show.
        Assert.True(after - before < 64L << 20, $"managed memory grew by {(after - before) >> 20} MiB over 200 requests");

        async Task<HttpStatusCode> Request()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/depth") { Content = new ByteArrayContent(bytes) };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
            var response = await client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var body = await response.Content.ReadAsByteArrayAsync();
                var depth = new float[body.Length / 4];
                Buffer.BlockCopy(body, 0, depth, 0, body.Length);
                Assert.Equal(expected.Depth, depth);
            }
            else
                Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            return response.StatusCode;
        }
    }
}
