using System.Diagnostics;
using DepthSharp.Imaging;
using DepthSharp.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace DepthSharp.Tests.Web;

/// <summary>
/// The page in headless Chromium (Debian's chromium, driven by Playwright from the npm registry; .ci/run installs both):
/// upload a fixture picture, see the depth picture and the 3D view render, calibrate it from a clicked known distance
/// (the downloads then being the calibrated result's), measure a dragged box, and check the screenshot is not blank;
/// also behind a proxy that serves the page under a path prefix.
/// </summary>
public sealed class PageTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DepthSharp.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("no DepthSharp.slnx above the test binaries");
    }

    [Fact]
    public Task UploadShowsDepthAndPointCloud() =>
        UploadShowsDepth("depth_pro_tiny", Fixtures.Path("images", "exif_focal_35mm.jpg"), prompt: null, minColours: 500);

    /// <summary>Prompt Depth Anything: the page shows its prompt picker, and the photo goes with the chosen prompt.</summary>
    [Fact]
    public Task PromptPickerShowsForAModelThatTakesAPrompt() =>
        UploadShowsDepth("prompt_depth_anything_tiny", Fixtures.Path("models", "prompt_depth_anything_tiny", "image0.png"),
            Fixtures.Path("models", "prompt_depth_anything_tiny", "prompt_depth0.npy"), minColours: 100);

    /// <summary>
    /// Behind a proxy that serves the service under /depth/ (stripping the prefix, sending X-Forwarded-Prefix) and nothing
    /// at the root: the page loads its script, three.js and the API under the prefix.
    /// </summary>
    [Fact]
    public Task ThePageWorksUnderAPathPrefix() =>
        UploadShowsDepth("depth_pro_tiny", Fixtures.Path("images", "exif_focal_35mm.jpg"), prompt: null, minColours: 500, prefix: "/depth");

    // page-test.mjs also checks that the prompt picker is shown exactly when a prompt is given (for a model that takes one).
    private static async Task UploadShowsDepth(string model, string picture, string? prompt, int minColours, string? prefix = null)
    {
        // Behind the proxy the server believes its forwarded prefix (from loopback), as --forwarded-headers makes it.
        var options = prefix is null ? new ServeOptions() : new ServeOptions { ScaleOut = new ScaleOutOptions { ForwardedHeaders = true } };
        await using var app = DepthServer.Build(o => o.Model = Fixtures.Path("models", model), model, options, "http://127.0.0.1:0");
        await app.StartAsync();
        await using var proxy = prefix is null ? null : await PrefixProxy(app.Urls.First(), prefix);
        string page = proxy is null ? app.Urls.First() + "/" : proxy.Urls.First() + prefix + "/";
        string shot = Environment.GetEnvironmentVariable("DEPTHSHARP_SCREENSHOT") ?? Path.Combine(Path.GetTempPath(), $"depthsharp-page-{Guid.NewGuid():N}.png");
        string script = Path.Combine(RepoRoot(), "src", "DepthSharp.Web", "client", "page-test.mjs");

        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, page, picture, shot }) psi.ArgumentList.Add(a);
        if (prompt is not null) psi.ArgumentList.Add(prompt);
        using var node = Process.Start(psi)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        if (!node.WaitForExit(TimeSpan.FromMinutes(3))) { node.Kill(entireProcessTree: true); Assert.Fail("the browser test ran past 3 minutes"); }
        Assert.True(node.ExitCode == 0, $"exit {node.ExitCode}: {await stdout} {await stderr}");
        // The page calibrated from its one known distance, offered the calibrated result's downloads and measured the dragged box in metres.
        var report = System.Text.Json.JsonDocument.Parse((await stdout).Trim().Split('\n')[^1]).RootElement;
        Assert.StartsWith("calibrated: scale", report.GetProperty("status").GetString());
        Assert.True(report.GetProperty("downloads").GetBoolean(), report.GetProperty("links").GetRawText());
        Assert.Equal(200, report.GetProperty("npy").GetInt32());
        Assert.Matches(@"median [0-9.]+ m · min", report.GetProperty("region").GetString());

        // The screenshot itself: many distinct, non-dark colours (photo, depth colours, lit points).
        var png = PngDecoder.DecodeFile(shot).ToRgb8();
        var colours = new HashSet<int>();
        for (int i = 0; i < png.Pixels.Length; i += 3)
            if (png.Pixels[i] + png.Pixels[i + 1] + png.Pixels[i + 2] > 60) colours.Add(png.Pixels[i] << 16 | png.Pixels[i + 1] << 8 | png.Pixels[i + 2]);
        Assert.True(colours.Count > minColours, $"screenshot has only {colours.Count} distinct colours");
        if (Environment.GetEnvironmentVariable("DEPTHSHARP_SCREENSHOT") is null) File.Delete(shot);
    }

    /// <summary>
    /// A reverse proxy on a free loopback port that forwards <paramref name="prefix"/>/… to <paramref name="upstream"/>/…
    /// with the prefix stripped and X-Forwarded-Prefix set, as a balancer serving the app under a path does; 404 elsewhere.
    /// </summary>
    private static async Task<WebApplication> PrefixProxy(string upstream, string prefix)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var proxy = builder.Build();
        var client = new HttpClient { BaseAddress = new Uri(upstream) };
        proxy.Lifetime.ApplicationStopped.Register(client.Dispose);
        proxy.Run(async http =>
        {
            if (!http.Request.Path.StartsWithSegments(prefix, out var rest)) { http.Response.StatusCode = StatusCodes.Status404NotFound; return; }
            using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), (rest.HasValue ? rest.Value : "/") + http.Request.QueryString);
            if (http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0)
            {
                request.Content = new StreamContent(http.Request.Body);
                if (http.Request.ContentType is { } type) request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
            foreach (var accept in http.Request.Headers.Accept) request.Headers.TryAddWithoutValidation("Accept", accept);
            request.Headers.Add("X-Forwarded-Prefix", prefix);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, http.RequestAborted);
            http.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Concat(response.Content.Headers).Where(h => h.Key != "Transfer-Encoding"))
                http.Response.Headers[header.Key] = header.Value.ToArray();
            await response.Content.CopyToAsync(http.Response.Body, http.RequestAborted);
        });
        await proxy.StartAsync();
        return proxy;
    }
}
