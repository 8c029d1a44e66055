using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;
using DepthSharp.Web;

namespace DepthSharp.Tests.Web;

/// <summary>POST /api/depth with the prompt as a second multipart part, on a real Kestrel server with the tiny Prompt Depth Anything.</summary>
public sealed class PromptDepthServerTests : IAsyncLifetime
{
    private static readonly string Model = Fixtures.Path("models", "prompt_depth_anything_tiny");
    private static readonly string Picture = Path.Combine(Model, "image0.png");
    private static readonly string PromptNpy = Path.Combine(Model, "prompt_depth0.npy");
    private TestServer? _server;

    private async Task<HttpClient> Start(string model)
    {
        _server = await TestServer.StartAsync(model, Path.GetFileName(model), new ServeOptions());
        return _server.Client;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }

    private static MultipartFormDataContent Form(string picture, string? prompt)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(picture)), "image", Path.GetFileName(picture) } };
        if (prompt is not null) form.Add(new ByteArrayContent(File.ReadAllBytes(prompt)), "prompt_depth", Path.GetFileName(prompt));
        return form;
    }

    private static async Task<string> Error(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    [Fact]
    public async Task MultipartPictureAndPromptGiveTheLibrarysDepth()
    {
        var client = await Start(Model);
        var model = JsonDocument.Parse(await client.GetStringAsync("/api/model")).RootElement;
        Assert.Equal("prompt_depth_anything", model.GetProperty("model_type").GetString());
        Assert.True(model.GetProperty("takes_prompt_depth").GetBoolean());

        var expected = DepthEstimator.Load(Model).Estimate([new DepthInput(ImageFile.Load(Picture), PromptDepthFile.Read(PromptNpy))])[0];
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/depth") { Content = Form(Picture, PromptNpy) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/octet-stream"));
        var raw = await client.SendAsync(request);
        Assert.True(raw.StatusCode == HttpStatusCode.OK, await raw.Content.ReadAsStringAsync());
        Assert.Equal("metric", raw.Headers.GetValues("X-Depth-Kind").Single());
        var bytes = await raw.Content.ReadAsByteArrayAsync();
        var depth = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, depth, 0, bytes.Length);
        Tolerance.AssertModelClose("depth over HTTP", expected.AsTensor(), new DepthSharp.Tensors.Tensor(depth, expected.Height, expected.Width));

        // The JSON answer too, with the part order reversed.
        var reversed = new MultipartFormDataContent
        {
            { new ByteArrayContent(File.ReadAllBytes(PromptNpy)), "prompt_depth", "prompt.npy" },
            { new ByteArrayContent(File.ReadAllBytes(Picture)), "image", "image0.png" },
        };
        var json = await client.PostAsync("/api/depth", reversed);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var summary = JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected.Width, summary.GetProperty("width").GetInt32());
        Assert.Equal("metric", summary.GetProperty("depth_kind").GetString());
    }

    [Fact]
    public async Task WithoutAPromptTheRequestIsRefusedSayingWhatToSend()
    {
        var client = await Start(Model);
        var multipart = await client.PostAsync("/api/depth", Form(Picture, null));
        Assert.Equal(HttpStatusCode.BadRequest, multipart.StatusCode);
        Assert.Contains("prompt_depth_anything models need a prompt depth: send the picture and a second multipart part 'prompt_depth'", await Error(multipart));
        var rawBody = await client.PostAsync("/api/depth", new ByteArrayContent(File.ReadAllBytes(Picture)));
        Assert.Equal(HttpStatusCode.BadRequest, rawBody.StatusCode);
        Assert.Contains("'prompt_depth'", await Error(rawBody));
    }

    [Fact]
    public async Task ABrokenOrUnusablePromptIsABadRequestNamingIt()
    {
        var client = await Start(Model);
        var notAMap = await client.PostAsync("/api/depth", Form(Picture, Fixtures.Path("images", "baseline_420_q75.jpg")));
        Assert.Equal(HttpStatusCode.BadRequest, notAMap.StatusCode);
        Assert.StartsWith("prompt_depth: ", await Error(notAMap));

        string constant = Path.Combine(Path.GetTempPath(), $"depthsharp-constant-{Guid.NewGuid():N}.npy");
        try
        {
            Npy.Write(constant, Enumerable.Repeat(1500f, 24 * 32).ToArray(), [24, 32]);
            var flat = await client.PostAsync("/api/depth", Form(Picture, constant));
            Assert.Equal(HttpStatusCode.BadRequest, flat.StatusCode);
            Assert.Contains("constant", await Error(flat));
        }
        finally { File.Delete(constant); }
    }

    [Fact]
    public async Task APromptForAModelThatTakesNoneIsRefused()
    {
        var client = await Start(Fixtures.Path("models", "depth_anything_tiny_relative"));
        var model = JsonDocument.Parse(await client.GetStringAsync("/api/model")).RootElement;
        Assert.False(model.GetProperty("takes_prompt_depth").GetBoolean());
        var response = await client.PostAsync("/api/depth", Form(Path.Combine(Fixtures.Path("models", "depth_anything_tiny_relative"), "image0.png"), PromptNpy));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("depth_anything models take no prompt_depth", await Error(response));
    }
}
