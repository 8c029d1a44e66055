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
