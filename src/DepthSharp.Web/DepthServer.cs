using System.Text.Json.Serialization;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DepthSharp.Web;

/// <summary>Limits of the HTTP service.</summary>
public sealed record ServeOptions
{
    /// <summary>Largest request body accepted (413 beyond it).</summary>
    public long MaxBodyBytes { get; init; } = 50L << 20;

    /// <summary>Largest picture, in pixels, decoded (400 beyond it, refused from the header before decoding).</summary>
    public long MaxPixels { get; init; } = 50_000_000;

    /// <summary>Forward passes running at once.</summary>
    public int MaxConcurrent { get; init; } = 1;

    /// <summary>Requests allowed to wait for a forward pass; more get 503 with Retry-After.</summary>
    public int MaxQueue { get; init; } = 8;

    /// <summary>A request taking longer than this is cancelled (504).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>The HTTP API over one loaded model: /api/health, /api/model, POST /api/depth.</summary>
public static class DepthServer
{
    public static WebApplication Build(DepthEstimator estimator, string modelName, ServeOptions options, params string[] urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJson.Default));
        var app = builder.Build();
        var gate = new InferenceGate(options.MaxConcurrent, options.MaxQueue);

        app.MapGet("/api/health", () => Results.Json(new Health("ok"), WebJson.Default.Health));
        app.MapGet("/api/model", () => Results.Json(new ModelInfo(modelName, estimator.ModelType), WebJson.Default.ModelInfo));
        app.MapPost("/api/depth", (Delegate)((HttpContext http) => Estimate(http, estimator, options, gate)));
        return app;
    }

    private static async Task<IResult> Estimate(HttpContext http, DepthEstimator estimator, ServeOptions options, InferenceGate gate)
    {
        byte[] body;
        try { body = await ReadPicture(http.Request, http.RequestAborted); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        { return Problem(StatusCodes.Status413PayloadTooLarge, $"the picture is larger than {options.MaxBodyBytes} bytes"); }
        if (body.Length == 0) return Problem(StatusCodes.Status400BadRequest, "no picture in the request body");
        if (!LooksLikePicture(body)) return Problem(StatusCodes.Status415UnsupportedMediaType, "only PNG and JPEG pictures are read");

        LoadedImage image;
        try { image = ImageFile.Decode(body, "upload", new ImageDecodeOptions { MaxPixels = options.MaxPixels }); }
        catch (ImageFormatException e) { return Problem(StatusCodes.Status400BadRequest, e.Message); }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        if (!gate.TryEnter()) { http.Response.Headers.RetryAfter = "1"; return Problem(StatusCodes.Status503ServiceUnavailable, "the inference queue is full"); }
        DepthResult result;
        try
        {
            await gate.WaitTurn(timeout.Token);
            try { result = await Task.Run(() => estimator.Estimate(image, null, timeout.Token), timeout.Token); }
            finally { gate.ReleaseTurn(); }
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        { return Problem(StatusCodes.Status504GatewayTimeout, $"no result within {options.RequestTimeout}"); }
        finally { gate.Leave(); }

        if (http.Request.Headers.Accept.Any(a => a is not null && a.Contains("application/octet-stream", StringComparison.OrdinalIgnoreCase)))
        {
            http.Response.Headers["X-Depth-Width"] = result.Width.ToString(System.Globalization.CultureInfo.InvariantCulture);
            http.Response.Headers["X-Depth-Height"] = result.Height.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var bytes = new byte[result.Depth.Length * sizeof(float)];
            Buffer.BlockCopy(result.Depth, 0, bytes, 0, bytes.Length);
            return Results.Bytes(bytes, "application/octet-stream");
        }
        return Results.Json(new DepthSummary(result.Width, result.Height, result.IsMetric ? "metric" : "relative", result.FieldOfView,
            result.FocalLength, result.FocalLengthSource.ToString().ToLowerInvariant(), result.Depth.Min(), result.Depth.Max()),
            WebJson.Default.DepthSummary);
    }

    /// <summary>The raw body, or the first file of a multipart form.</summary>
    private static async Task<byte[]> ReadPicture(HttpRequest request, CancellationToken cancel)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancel);
            if (form.Files.Count == 0) return [];
            using var ms = new MemoryStream();
            await form.Files[0].CopyToAsync(ms, cancel);
            return ms.ToArray();
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancel);
        return body.ToArray();
    }

    private static bool LooksLikePicture(byte[] b) =>
        (b.Length >= 4 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G') || (b.Length >= 2 && b[0] == 0xFF && b[1] == 0xD8);

    private static IResult Problem(int status, string message) => Results.Json(new ErrorBody(message), WebJson.Default.ErrorBody, statusCode: status);
}

/// <summary>At most MaxConcurrent forwards run and at most MaxQueue more wait; anything beyond is turned away at once.</summary>
internal sealed class InferenceGate(int maxConcurrent, int maxQueue)
{
    private readonly SemaphoreSlim _running = new(maxConcurrent, maxConcurrent);
    private int _admitted;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _admitted) <= maxConcurrent + maxQueue) return true;
        Interlocked.Decrement(ref _admitted);
        return false;
    }

    public Task WaitTurn(CancellationToken cancel) => _running.WaitAsync(cancel);
    public void ReleaseTurn() => _running.Release();
    public void Leave() => Interlocked.Decrement(ref _admitted);
}

public sealed record Health(string Status);
public sealed record ModelInfo(string Name, string ModelType);
public sealed record ErrorBody(string Error);
public sealed record DepthSummary(int Width, int Height, string DepthKind, double? FieldOfView, double? FocalLength,
    string FocalLengthSource, float DepthMin, float DepthMax);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(DepthSummary))]
internal sealed partial class WebJson : JsonSerializerContext;
