using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DepthSharp.Extensions.Hosting;
using DepthSharp.IO;
using DepthSharp.Web;

namespace DepthSharp.Tests.Web;

/// <summary>
/// A replica's behaviour behind a balancer, on real Kestrel servers with the tiny Depth Anything model: Redis
/// unreachable, forwarded headers, liveness and readiness, and replicas sharing results through a private
/// redis-server. HAProxy in front of several replica processes is tested for real by .ci/service-test.sh.
/// </summary>
public sealed class ScaleOutServerTests : IAsyncLifetime
{
    private static readonly string TinyModel = Fixtures.Path("models", "depth_anything_tiny_relative");
    private static readonly string PromptModel = Fixtures.Path("models", "prompt_depth_anything_tiny");
    private static readonly byte[] Photo = File.ReadAllBytes(Fixtures.Path("images", "exif_focal_35mm.jpg"));
    private readonly List<TestServer> _servers = [];
    private RedisServer? _redis;

    private async Task<HttpClient> Start(ScaleOutOptions scaleOut, string? model = null)
    {
        var server = await TestServer.StartAsync(model ?? TinyModel, "tiny", new ServeOptions { ScaleOut = scaleOut });
        _servers.Add(server);
        return server.Client;
    }

    /// <summary>A replica sharing results through this test's redis-server (started with the first).</summary>
    private async Task<HttpClient> Replica(string name, string? model = null)
    {
        _redis ??= await RedisServer.StartAsync();
        return await Start(new ScaleOutOptions { Redis = _redis.Endpoint, ReplicaName = name }, model);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers) await server.DisposeAsync();
        _redis?.Dispose();
    }

    private static ByteArrayContent Picture() => new(Photo) { Headers = { ContentType = new("image/jpeg") } };

    private static string Header(HttpResponseMessage response, string name) => string.Join(",", response.Headers.GetValues(name));

    [Fact]
    public async Task RedisUnreachableStillAnswersByComputing()
    {
        // Port 1 on loopback: nothing listens, the connection is refused.
        var client = await Start(new ScaleOutOptions { Redis = "127.0.0.1:1", ReplicaName = "replica-under-test" });
        var answer = await client.PostAsync("/api/depth", Picture());
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("unavailable", Header(answer, "X-Cache"));
        Assert.Equal("replica-under-test", Header(answer, "X-Computed-By"));
        Assert.Equal("replica-under-test", Header(answer, "X-Served-By"));

        // The id is the shared key even so, and the result's links work on this replica.
        string id = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(ResultCacheKey.For(Photo, ResultCacheKey.ModelFingerprint(TinyModel), new DepthEstimationOptions { Model = TinyModel }), id);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/api/results/{id}/npy")).StatusCode);
        var summary = JsonDocument.Parse(await client.GetStringAsync($"/api/results/{id}")).RootElement;
        Assert.Equal(id, summary.GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/results/{new string('0', 64)}")).StatusCode);

        // Degraded, not unhealthy: the balancer keeps a replica that answers; readiness is the model's alone.
        var health = await client.GetAsync("/api/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var body = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("degraded", body.GetProperty("status").GetString());
        Assert.Contains("Redis at 127.0.0.1:1 is unreachable", body.GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/health/ready")).StatusCode);
    }

    /// <summary>Prompt Depth Anything's answer depends on the prompt too: another prompt with the same picture is computed, not served from the cache.</summary>
    [Fact]
    public async Task ThePromptIsPartOfTheSharedKey()
    {
        var client = await Replica("replica-under-test", PromptModel);
        byte[] picture = File.ReadAllBytes(Path.Combine(PromptModel, "image0.png"));
        byte[] prompt = File.ReadAllBytes(Path.Combine(PromptModel, "prompt_depth0.npy"));
        var values = Npy.Read(prompt, "prompt_depth0.npy");
        byte[] farther = Npy.Encode(values.Float32!.Select(v => 2 * v).ToArray(), values.Shape);

        var (first, firstDepth) = await PostWithPrompt(client, picture, prompt);
        var (other, otherDepth) = await PostWithPrompt(client, picture, farther);
        var (again, againDepth) = await PostWithPrompt(client, picture, prompt);
        Assert.Equal("miss", Header(first, "X-Cache"));
        Assert.Equal("miss", Header(other, "X-Cache"));
        Assert.NotEqual(Header(first, "X-Result-Id"), Header(other, "X-Result-Id"));
        Assert.NotEqual(firstDepth, otherDepth);
        // The same picture with the same prompt is the cache's.
        Assert.Equal("hit", Header(again, "X-Cache"));
        Assert.Equal(Header(first, "X-Result-Id"), Header(again, "X-Result-Id"));
        Assert.Equal(firstDepth, againDepth);
    }

    /// <summary>
    /// A calibrated result is reachable from every replica (a balancer sends its follow-up requests anywhere): its id is
    /// derived from the model output's shared id and the known points, which are shared, so any replica calibrates again.
    /// </summary>
    [Fact]
    public async Task CalibratedResultsAreReachableFromAnotherReplica()
    {
        var a = await Replica("replica-a");
        var b = await Replica("replica-b");
        var first = await a.PostAsync("/api/depth", Picture());
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var summary = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement;
        string id = summary.GetProperty("id").GetString()!;
        int width = summary.GetProperty("width").GetInt32();
        var output = Floats(await a.GetByteArrayAsync($"/api/results/{id}/raw"));
        int near = Array.IndexOf(output, output.Max()), far = Array.IndexOf(output, output.Min());
        string known = $"known={near % width},{near / width}=1&known={far % width},{far / width}=4";

        var calibrate = await a.PostAsync($"/api/results/{id}/calibrate?{known}", null);
        Assert.Equal(HttpStatusCode.OK, calibrate.StatusCode);
        var calibrated = JsonDocument.Parse(await calibrate.Content.ReadAsStringAsync()).RootElement;
        string calibratedId = calibrated.GetProperty("id").GetString()!;
        Assert.StartsWith(id + ".", calibratedId);

        // Replica b has seen neither the picture nor the calibration.
        var there = await b.GetAsync($"/api/results/{calibratedId}");
        Assert.True(there.StatusCode == HttpStatusCode.OK, await there.Content.ReadAsStringAsync());
        var thereSummary = JsonDocument.Parse(await there.Content.ReadAsStringAsync()).RootElement;
        Assert.True(thereSummary.GetProperty("calibrated").GetBoolean());
        Assert.Equal("metric", thereSummary.GetProperty("depth_kind").GetString());
        Assert.Equal(calibrated.GetProperty("calibration").GetRawText(), thereSummary.GetProperty("calibration").GetRawText());
        Assert.Equal(await a.GetByteArrayAsync($"/api/results/{calibratedId}/raw"), await b.GetByteArrayAsync($"/api/results/{calibratedId}/raw"));
        Assert.Equal(HttpStatusCode.OK, (await b.GetAsync($"/api/results/{calibratedId}/color")).StatusCode);

        // Calibrating it again there starts from the model's output: the same points give the same id.
        var again = await b.PostAsync($"/api/results/{calibratedId}/calibrate?{known}", null);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(calibratedId, JsonDocument.Parse(await again.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString());

        // Known points sent with the picture: b answers from the cache and calibrates; a finds that result too.
        var withKnown = await b.PostAsync($"/api/depth?known={near % width},{near / width}=1.5&known={far % width},{far / width}=6", Picture());
        Assert.Equal(HttpStatusCode.OK, withKnown.StatusCode);
        Assert.Equal("hit", Header(withKnown, "X-Cache"));
        var withKnownSummary = JsonDocument.Parse(await withKnown.Content.ReadAsStringAsync()).RootElement;
        string withKnownId = withKnownSummary.GetProperty("id").GetString()!;
        Assert.StartsWith(id + ".", withKnownId);
        Assert.NotEqual(calibratedId, withKnownId);
        var back = JsonDocument.Parse(await a.GetStringAsync($"/api/results/{withKnownId}")).RootElement;
        Assert.Equal(withKnownSummary.GetProperty("calibration").GetRawText(), back.GetProperty("calibration").GetRawText());

        // An id of that shape whose calibration was never made is not found.
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/api/results/{id}.{new string('0', 64)}")).StatusCode);
    }

    private static float[] Floats(byte[] bytes)
    {
        var values = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static async Task<(HttpResponseMessage Response, byte[] Depth)> PostWithPrompt(HttpClient client, byte[] picture, byte[] prompt)
    {
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(picture), "image", "image0.png" },
            { new ByteArrayContent(prompt), "prompt_depth", "prompt.npy" },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/depth") { Content = form };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
        var response = await client.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return (response, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(true, "/depth/api/results/")]
    [InlineData(false, "/api/results/")]
    public async Task ForwardedPrefixIsHonouredOnlyWhenAsked(bool forwardedHeaders, string linkStart)
    {
        var client = await Start(new ScaleOutOptions { ForwardedHeaders = forwardedHeaders });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/depth") { Content = Picture() };
        request.Headers.Add("X-Forwarded-Prefix", "/depth");
        var answer = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var links = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs");
        foreach (var link in links.EnumerateObject()) Assert.StartsWith(linkStart, link.Value.GetString());
    }

    [Fact]
    public async Task LiveWhileTheModelIsNotReady()
    {
        string empty = Directory.CreateTempSubdirectory("depthsharp-scaleout-noconfig-").FullName;
        try
        {
            var client = await Start(new ScaleOutOptions(), empty);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/api/model")).StatusCode);   // waits for the failed load
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/health/live")).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/api/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/api/health")).StatusCode);
        }
        finally { Directory.Delete(empty, recursive: true); }
    }
}
