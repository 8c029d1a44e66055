using System.Text.Json.Serialization;
using DepthSharp.Analysis;
using DepthSharp.Extensions.Hosting;
using DepthSharp.IO;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using DepthSharp.Tensors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
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

    /// <summary>Recent results kept for their output links (/api/results/{id}/{format}); older ones are dropped.</summary>
    public int KeptResults { get; init; } = 16;

    /// <summary>Running as one of several replicas behind a load balancer (shared results, forwarded headers, draining); null runs alone.</summary>
    public ScaleOutOptions? ScaleOut { get; init; }
}

/// <summary>The HTTP API over one model: /api/health, /api/model, POST /api/depth.</summary>
public static class DepthServer
{
    /// <summary>
    /// The server for the model <paramref name="configure"/> sets, through DepthSharp.Extensions.Hosting: the model starts
    /// loading when the server starts; requests that need it wait for it; /api/health is the model's health check
    /// (503 until the model is loaded, with the reason when it failed to load).
    /// </summary>
    /// <param name="configure">The model and its options.</param>
    /// <param name="modelName">The name /api/model reports.</param>
    /// <param name="options">The service's limits.</param>
    /// <param name="urls">Addresses to listen on.</param>
    public static WebApplication Build(Action<DepthEstimationOptions> configure, string modelName, ServeOptions options, params string[] urls)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxBodyBytes);
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.TypeInfoResolverChain.Insert(0, WebJson.Default));
        builder.Services.AddDepthEstimation(configure);
        if (options.ScaleOut is { } scaleOut) ServeScaleOut.Configure(builder, scaleOut);
        var app = builder.Build();
        var model = app.Services.GetRequiredService<DepthPipelineProvider>();
        var gate = new InferenceGate(options.MaxConcurrent, options.MaxQueue);
        var store = new ResultStore(options.KeptResults);
        var shared = app.Services.GetService<SharedResults>();

        var health = new HealthCheckOptions { ResponseWriter = WriteHealth };
        if (options.ScaleOut is { } scale) ServeScaleOut.Use(app, scale, health);
        app.MapHealthChecks("/api/health", health);
        app.MapGet("/api/model", async (HttpContext http) =>
        {
            var (estimator, problem) = await Model(model, http.RequestAborted);
            return problem ?? Results.Json(new ModelInfo(modelName, estimator!.ModelType, estimator.Family.ExtraInput is not null), WebJson.Default.ModelInfo);
        });
        app.MapPost("/api/depth", (Delegate)(async (HttpContext http) =>
        {
            var (estimator, problem) = await Model(model, http.RequestAborted);
            return problem ?? await Estimate(http, estimator!, options, gate, store, shared);
        }));
        app.MapGet("/api/results/{id}/{format}", async (string id, string format, string? colormap) =>
            await Kept(id, options, store, shared) is { } kept ? DepthFile(kept.Image, kept.Result, format, colormap) : NoResult(id, options, shared));
        app.MapGet("/api/results/{id}", async (HttpContext http, string id) =>
            await Kept(id, options, store, shared) is { } kept ? Summary(http, id, kept.Result, kept.Fit) : NoResult(id, options, shared));
        // Calibrating a kept result (its model output, whichever result of it is named) gives a new result; regions measure one.
        app.MapPost("/api/results/{id}/calibrate", async (HttpContext http, string id) =>
            await Kept(id, options, store, shared) is { } kept
                ? await Analyse(http, kept.Image, kept.Original, store, shared, calibrate: true, kept.SharedId)
                : NoResult(id, options, shared));
        app.MapGet("/api/results/{id}/regions", async (HttpContext http, string id) =>
        {
            if (await Kept(id, options, store, shared) is not { } kept) return NoResult(id, options, shared);
            var (regions, problem) = Regions(http, kept.Result);
            return problem ?? Results.Json(new RegionsAnswer(regions!), WebJson.Default.RegionsAnswer);
        });
        app.MapGet("/", () => Site("index.html", "text/html; charset=utf-8"));
        app.MapGet("/app.js", () => Site("app.js", "text/javascript"));
        app.MapGet("/vendor/{name}", (string name) => Site($"vendor/{name}", "text/javascript"));
        return app;
    }

    /// <summary>The shared model's estimator, waiting while it loads; a 503 naming the reason when it could not be loaded.</summary>
    private static async Task<(DepthEstimator? Estimator, IResult? Problem)> Model(DepthPipelineProvider model, CancellationToken cancellationToken)
    {
        try { return ((await model.GetPipelineAsync(cancellationToken)).Estimator, null); }
        catch (Exception e) when (model.State == DepthModelState.Failed)
        { return (null, Problem(StatusCodes.Status503ServiceUnavailable, $"model {model.Model} could not be loaded: {e.Message}")); }
    }

    /// <summary>
    /// The health report as JSON: {"status": "healthy" | "unhealthy" | "degraded", "description": ...}: the model's
    /// check, followed by any other check that is not healthy (Redis, when results are shared).
    /// </summary>
    private static Task WriteHealth(HttpContext http, HealthReport report)
    {
        report.Entries.TryGetValue(DepthModelHealthCheck.Name, out var entry);
        var others = report.Entries.Where(e => e.Key != DepthModelHealthCheck.Name && e.Value.Status != HealthStatus.Healthy).Select(e => e.Value.Description);
        string? description = string.Join("; ", new[] { entry.Description }.Concat(others).OfType<string>()) is { Length: > 0 } d ? d : null;
        var health = new Health(report.Status.ToString().ToLowerInvariant(), description);
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(System.Text.Json.JsonSerializer.Serialize(health, WebJson.Default.Health));
    }

    private static async Task<IResult> Estimate(HttpContext http, DepthEstimator estimator, ServeOptions options, InferenceGate gate, ResultStore store,
        SharedResults? shared)
    {
        byte[] body;
        byte[]? promptBytes;
        try { (body, promptBytes) = await ReadUpload(http.Request, http.RequestAborted); }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        { return Problem(StatusCodes.Status413PayloadTooLarge, $"the picture is larger than {options.MaxBodyBytes} bytes"); }
        if (body.Length == 0) return Problem(StatusCodes.Status400BadRequest, "no picture in the request body");
        if (!LooksLikePicture(body)) return Problem(StatusCodes.Status415UnsupportedMediaType, "only PNG and JPEG pictures are read");

        // The model's family says whether the prompt_depth part is needed (Prompt Depth Anything) or refused (the others).
        var spec = estimator.Family.ExtraInput;
        if (promptBytes is not null && spec is null)
            return Problem(StatusCodes.Status400BadRequest, $"{estimator.ModelType} models take no prompt_depth (it is Prompt Depth Anything's second input)");
        if (promptBytes is null && spec is { Required: true })
            return Problem(StatusCodes.Status400BadRequest,
                $"{estimator.ModelType} models need a {spec.Name}: send the picture and a second multipart part 'prompt_depth' (a float32 .npy [H, W] of raw values, or a 16-bit PNG)");
        Tensor? promptDepth = null;
        try { if (promptBytes is not null) promptDepth = PromptDepthFile.Read(promptBytes, "prompt_depth"); }
        catch (PromptDepthException e) { return Problem(StatusCodes.Status400BadRequest, e.Message); }

        LoadedImage image;
        try { image = ImageFile.Decode(body, "upload", new ImageDecodeOptions { MaxPixels = options.MaxPixels }); }
        catch (ImageFormatException e) { return Problem(StatusCodes.Status400BadRequest, e.Message); }

        // Shared results: a picture (with the same prompt) any replica has already done is answered from Redis without a forward pass.
        string? sharedId = shared is null ? null : await shared.KeyAsync(body, promptBytes);
        if (shared is not null && await shared.TryGetAsync(sharedId!) is { } hit)
        {
            http.Response.Headers["X-Cache"] = "hit";
            http.Response.Headers["X-Computed-By"] = hit.ComputedBy;
            return await Analyse(http, image.Image, hit.Result, store, shared, calibrate: http.Request.Query.ContainsKey("known"), sharedId);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        if (!gate.TryEnter()) { http.Response.Headers.RetryAfter = "1"; return Problem(StatusCodes.Status503ServiceUnavailable, "the inference queue is full"); }
        DepthResult result;
        try
        {
            await gate.WaitTurn(timeout.Token);
            var deadline = new DeadlineProgress(timeout, options.RequestTimeout);
            try { result = await Task.Run(() => estimator.Estimate([new DepthInput(image, promptDepth)], deadline, timeout.Token)[0], timeout.Token); }
            finally { gate.ReleaseTurn(); }
        }
        catch (PromptDepthException e) { return Problem(StatusCodes.Status400BadRequest, e.Message); }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        { return Problem(StatusCodes.Status504GatewayTimeout, $"no result within {options.RequestTimeout}"); }
        finally { gate.Leave(); }

        if (shared is not null)
        {
            // "unavailable": Redis could not be reached, so the result is this replica's alone (its links work here only).
            http.Response.Headers["X-Cache"] = await shared.TryStoreAsync(sharedId!, body, result) ? "miss" : "unavailable";
            http.Response.Headers["X-Computed-By"] = shared.Replica;
        }
        return await Analyse(http, image.Image, result, store, shared, calibrate: http.Request.Query.ContainsKey("known"), sharedId);
    }

    /// <summary>
    /// The answer for a model output: calibrated by the request's <c>known=X,Y=METRES</c> values when asked, measured in its
    /// <c>region=X,Y,W,H</c> boxes, kept; the same answer as POST /api/depth gives: headers, and JSON, the raw floats or
    /// the ?format= file. When the output is shared (under <paramref name="sharedId"/>) it is kept under that id, and a
    /// calibration of it under an id derived from it and the points, which are shared too, so that every replica finds
    /// the calibrated result; an output that is not shared, and its calibrations, get new ids.
    /// </summary>
    private static async Task<IResult> Analyse(HttpContext http, RgbImage photo, DepthResult original, ResultStore store, SharedResults? shared,
        bool calibrate, string? sharedId)
    {
        var result = original;
        DepthCalibration? fit = null;
        string? id = sharedId;
        if (calibrate)
        {
            var known = new List<KnownDepth>();
            foreach (var text in http.Request.Query["known"])
            {
                var point = KnownDepth.Parse(text ?? "", out string? error);
                if (point is null) return Problem(StatusCodes.Status400BadRequest, $"known '{text}': {error}");
                known.Add(point);
            }
            try { (result, fit) = DepthCalibrator.Calibrate(original, known); }
            catch (DepthAnalysisException e) { return Problem(StatusCodes.Status400BadRequest, e.Message); }
            id = sharedId is null ? null : ResultCacheKey.Calibrated(sharedId, known);
            // Redis unreachable: the calibrated result is this replica's alone, as its output is.
            if (id is not null) await shared!.TryStoreCalibrationAsync(id, known);
        }
        var (regions, problem) = Regions(http, result);
        if (problem is not null) return problem;

        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var headers = http.Response.Headers;
        headers["X-Depth-Width"] = result.Width.ToString(inv);
        headers["X-Depth-Height"] = result.Height.ToString(inv);
        headers["X-Depth-Kind"] = DepthExport.KindLabel(result.Kind);
        headers["X-Depth-Inverse"] = result.Kind == DepthKind.RelativeInverse ? "true" : "false";
        headers["X-Depth-Outputs"] = string.Join(",", Formats(result));
        if (result.FieldOfView is double fov) headers["X-Field-Of-View"] = fov.ToString("R", inv);
        if (result.FocalLength is double focal)
        {
            headers["X-Focal-Length"] = focal.ToString("R", inv);
            headers["X-Focal-Length-Source"] = result.FocalLengthSource.ToString().ToLowerInvariant();
        }
        headers["X-Depth-Calibrated"] = fit is null ? "false" : "true";
        id = store.Add(new KeptResult(photo, result, original, fit, sharedId), id);
        headers["X-Result-Id"] = id;
        string? format = http.Request.Query["format"];
        if (format is not null and not "json")
            return DepthFile(photo, result, format, http.Request.Query["colormap"]);
        if (http.Request.Headers.Accept.Any(a => a is not null && a.Contains("application/octet-stream", StringComparison.OrdinalIgnoreCase)))
        {
            var bytes = new byte[result.Depth.Length * sizeof(float)];
            Buffer.BlockCopy(result.Depth, 0, bytes, 0, bytes.Length);
            return Results.Bytes(bytes, "application/octet-stream");
        }
        return Summary(http, id, result, fit, regions);
    }

    /// <summary>A result's JSON summary with its output links (under the path prefix a proxy forwarded, if any).</summary>
    private static IResult Summary(HttpContext http, string id, DepthResult result, DepthCalibration? fit = null, List<RegionStatistics>? regions = null)
    {
        var links = Formats(result).ToDictionary(f => f, f => $"{http.Request.PathBase}/api/results/{id}/{f}");
        var camera = DepthExport.Intrinsics(result);
        return Results.Json(new DepthSummary(id, result.Width, result.Height, DepthExport.KindLabel(result.Kind), result.Kind == DepthKind.RelativeInverse,
            result.FieldOfView, result.FocalLength, result.FocalLengthSource.ToString().ToLowerInvariant(), result.Depth.Min(), result.Depth.Max(), links)
        {
            Fx = camera?.Fx, Fy = camera?.Fy, Cx = camera?.Cx, Cy = camera?.Cy,
            IntrinsicsMissing = camera is null ? DepthExport.NoIntrinsicsReason : null,
            Calibrated = fit is not null,
            Calibration = fit,
            Regions = regions is { Count: > 0 } ? regions : null,
        }, WebJson.Default.DepthSummary);
    }

    /// <summary>The statistics of the request's region=X,Y,W,H boxes, or a 400 naming the bad one.</summary>
    private static (List<RegionStatistics>? Regions, IResult? Problem) Regions(HttpContext http, DepthResult result)
    {
        var regions = new List<RegionStatistics>();
        foreach (var text in http.Request.Query["region"])
        {
            var box = DepthRegion.Parse(text ?? "", out string? error);
            if (box is null) return (null, Problem(StatusCodes.Status400BadRequest, $"region '{text}': {error}"));
            try { regions.Add(DepthRegions.Measure(result, box)); }
            catch (DepthAnalysisException e) { return (null, Problem(StatusCodes.Status400BadRequest, e.Message)); }
        }
        return (regions, null);
    }

    /// <summary>A kept result: this process's recent ones, else the shared store's (whichever replica computed it).</summary>
    private static async Task<KeptResult?> Kept(string id, ServeOptions options, ResultStore store, SharedResults? shared)
    {
        if (store.TryGet(id, out var kept)) return kept;
        if (shared is null) return null;
        if (ResultCacheKey.CalibratedFrom(id) is { } from)
        {
            // A calibration another replica made: its known points are shared, so calibrate the shared output by them again.
            if (await shared.TryGetCalibrationAsync(id) is not { } known || await Kept(from, options, store, shared) is not { } output) return null;
            CalibratedDepth calibrated;
            try { calibrated = DepthCalibrator.Calibrate(output.Original, known); }
            catch (DepthAnalysisException) { return null; }   // not the output these points were fitted to: not this calibration
            var again = new KeptResult(output.Image, calibrated.Depth, output.Original, calibrated.Fit, from);
            store.Add(again, id);
            return again;
        }
        if (await shared.TryGetAsync(id) is not { } stored) return null;
        // The stored picture is the upload that produced the result, so it decodes as it did then.
        var picture = ImageFile.Decode(stored.Picture, "shared result", new ImageDecodeOptions { MaxPixels = options.MaxPixels }).Image;
        var model = new KeptResult(picture, stored.Result, stored.Result, Fit: null, id);
        store.Add(model, id);
        return model;
    }

    private static IResult NoResult(string id, ServeOptions options, SharedResults? shared) => Problem(StatusCodes.Status404NotFound,
        shared is null ? $"no result '{id}' (only the last {options.KeptResults} are kept)" : $"no result '{id}' here or in the shared store (kept for {options.ScaleOut!.ResultTtl})");

    /// <summary>The output formats a result offers; a point cloud only where the library's policy gives one without a scale.</summary>
    private static IEnumerable<string> Formats(DepthResult r)
    {
        string[] always = ["raw", "npy", "pfm", "png16", "gray8", "color", "side-by-side"];
        return DepthExport.PointCloudBlocker(r) == PointCloudBlocker.None ? [.. always, "ply"] : always;
    }

    /// <summary>One of the tool's output files for a result: raw, npy, pfm, png16, gray8, color or side-by-side (with ?colormap=), ply.</summary>
    private static IResult DepthFile(RgbImage photo, DepthResult r, string format, string? colormapName)
    {
        var map = Enum.TryParse<Colormap>(colormapName, ignoreCase: true, out var m) ? m : Colormap.Turbo;
        // Near is warm, drawn as the library's policy says for the family and kind (the command line draws it the same way).
        RgbImage Colour() => DepthExport.Colorize(r, map);
        switch (format)
        {
            case "raw":
                var raw = new byte[r.Depth.Length * sizeof(float)];
                Buffer.BlockCopy(r.Depth, 0, raw, 0, raw.Length);
                return Results.Bytes(raw, "application/octet-stream", "depth.f32");
            case "side-by-side": return Results.Bytes(PngEncoder.EncodeRgb8(DepthRender.SideBySide(photo, Colour())), "image/png", "depth_side.png");
            case "ply" when DepthExport.PointCloudBlocker(r) == PointCloudBlocker.None:
                var points = DepthExport.PointCloud(r);
                return Results.Bytes(DepthSharp.IO.PointCloud.EncodePly(photo, points.Metres, points.FocalLength), "application/octet-stream", "depth.ply");
            case "ply" when DepthExport.PointCloudBlocker(r) == PointCloudBlocker.NoFocalLength:
                return Problem(StatusCodes.Status400BadRequest, "a point cloud needs a focal length, and none is known for this picture");
            case "ply": return Problem(StatusCodes.Status400BadRequest, "a point cloud needs metric depth; this model gives relative depth");
            case "npy": return Results.Bytes(DepthSharp.IO.Npy.Encode(r.Depth, [r.Height, r.Width]), "application/octet-stream", "depth.npy");
            case "pfm": return Results.Bytes(DepthRender.EncodePfm(r.Depth, r.Width, r.Height), "application/octet-stream", "depth.pfm");
            case "png16":
                return Results.Bytes(PngEncoder.EncodeGray16(DepthExport.Png16(r), r.Width, r.Height), "image/png", "depth_16bit.png");
            case "gray8": return Results.Bytes(PngEncoder.EncodeGray8(DepthRender.PipelineGray8(r.Depth), r.Width, r.Height), "image/png", "depth_gray.png");
            case "color": return Results.Bytes(PngEncoder.EncodeRgb8(Colour()), "image/png", "depth.png");
            default:
                return Problem(StatusCodes.Status400BadRequest, $"format '{format}' is not one of json, raw, npy, pfm, png16, gray8, color, side-by-side, ply");
        }
    }

    /// <summary>A file of the page, embedded at build time.</summary>
    private static IResult Site(string name, string contentType)
    {
        var stream = typeof(DepthServer).Assembly.GetManifestResourceStream($"site/{name}");
        return stream is null ? Results.NotFound() : Results.Stream(stream, contentType);
    }

    /// <summary>
    /// The picture and, when sent, the prompt depth: the raw body alone, or a multipart form whose part "prompt_depth" is the
    /// prompt and whose first other file is the picture.
    /// </summary>
    private static async Task<(byte[] Picture, byte[]? PromptDepth)> ReadUpload(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(cancellationToken);
            var prompt = form.Files.GetFile("prompt_depth");
            var picture = form.Files.FirstOrDefault(f => f.Name != "prompt_depth");
            return (picture is null ? [] : await Bytes(picture, cancellationToken), prompt is null ? null : await Bytes(prompt, cancellationToken));
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        return (body.ToArray(), null);
    }

    private static async Task<byte[]> Bytes(IFormFile file, CancellationToken cancellationToken)
    {
        using var ms = new MemoryStream();
        await file.CopyToAsync(ms, cancellationToken);
        return ms.ToArray();
    }

    private static bool LooksLikePicture(byte[] b) =>
        (b.Length >= 4 && b[0] == 0x89 && b[1] == (byte)'P' && b[2] == (byte)'N' && b[3] == (byte)'G') || (b.Length >= 2 && b[0] == 0xFF && b[1] == 0xD8);

    private static IResult Problem(int status, string message) => Results.Json(new ErrorBody(message), WebJson.Default.ErrorBody, statusCode: status);
}

/// <summary>
/// Cancels a request past its timeout from the forward pass's own progress reports. The timer of CancelAfter needs a
/// thread-pool thread to run on; while the pass keeps the pool's threads busy it can fire late, after the result.
/// </summary>
internal sealed class DeadlineProgress(CancellationTokenSource timeout, TimeSpan limit) : IProgress<ModelProgress>
{
    private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();

    public void Report(ModelProgress value)
    {
        if (System.Diagnostics.Stopwatch.GetElapsedTime(_start) >= limit) timeout.Cancel();
    }
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

    public Task WaitTurn(CancellationToken cancellationToken) => _running.WaitAsync(cancellationToken);
    public void ReleaseTurn() => _running.Release();
    public void Leave() => Interlocked.Decrement(ref _admitted);
}

/// <summary>GET /api/health's answer: the model's health check.</summary>
/// <param name="Status">"healthy" once the model is loaded, else "unhealthy".</param>
/// <param name="Description">What the check says: the model, or why it is not loaded.</param>
public sealed record Health(string Status, string? Description);

/// <summary>GET /api/model's answer.</summary>
/// <param name="Name">The model as given to serve (folder or repo id).</param>
/// <param name="ModelType">config.json's model_type.</param>
/// <param name="TakesPromptDepth">The model takes a prompt depth with each picture (POST /api/depth's multipart part "prompt_depth").</param>
public sealed record ModelInfo(string Name, string ModelType, bool TakesPromptDepth);

/// <summary>An error's JSON body.</summary>
/// <param name="Error">What went wrong.</param>
public sealed record ErrorBody(string Error);

/// <summary>POST /api/depth's JSON answer.</summary>
/// <param name="Id">The result's id in /api/results/{id}/{format}.</param>
/// <param name="Width">The picture's width.</param>
/// <param name="Height">The picture's height.</param>
/// <param name="DepthKind">"metric" or "relative".</param>
/// <param name="DepthIsInverse">The values are relative inverse depth (larger is nearer).</param>
/// <param name="FieldOfView">Horizontal field of view in degrees, when the model estimates one.</param>
/// <param name="FocalLength">Focal length in pixels, when known.</param>
/// <param name="FocalLengthSource">none, model, exif or user.</param>
/// <param name="DepthMin">The smallest value.</param>
/// <param name="DepthMax">The largest value.</param>
/// <param name="Outputs">Each output format's link.</param>
public sealed record DepthSummary(string Id, int Width, int Height, string DepthKind, bool DepthIsInverse, double? FieldOfView, double? FocalLength,
    string FocalLengthSource, float DepthMin, float DepthMax, Dictionary<string, string> Outputs)
{
    /// <summary>Horizontal focal length in pixels of the camera in use (<see cref="DepthExport.Intrinsics"/>), or null.</summary>
    public double? Fx { get; init; }

    /// <summary>Vertical focal length in pixels, or null.</summary>
    public double? Fy { get; init; }

    /// <summary>Principal point's column, (width − 1)/2, or null.</summary>
    public double? Cx { get; init; }

    /// <summary>Principal point's row, (height − 1)/2, or null.</summary>
    public double? Cy { get; init; }

    /// <summary>Why there are no intrinsics; null when there are.</summary>
    public string? IntrinsicsMissing { get; init; }

    /// <summary>The depth was calibrated from known distances (it is then metric).</summary>
    public bool Calibrated { get; init; }

    /// <summary>The calibration's fit, when calibrated.</summary>
    public DepthCalibration? Calibration { get; init; }

    /// <summary>The requested regions' statistics, in the result's units; null when none was asked for.</summary>
    public List<RegionStatistics>? Regions { get; init; }
}

/// <summary>GET /api/results/{id}/regions's answer.</summary>
/// <param name="Regions">Each requested box's statistics, in the result's units.</param>
public sealed record RegionsAnswer(List<RegionStatistics> Regions);

/// <summary>
/// A kept result: the picture, the result, the model's own output it came from, the calibration's fit when it is
/// calibrated, and the id the model's output is shared under (null when it is not shared), which a calibration's id is derived from.
/// </summary>
internal sealed record KeptResult(RgbImage Image, DepthResult Result, DepthResult Original, DepthCalibration? Fit, string? SharedId);

/// <summary>
/// The last few results, by id, so the links in a response can be fetched; memory stays bounded. Each keeps the model's
/// own output beside it (<c>Original</c>), which calibration starts from, and its fit, which its summary reports.
/// </summary>
internal sealed class ResultStore(int capacity)
{
    private readonly Queue<string> _order = new();
    private readonly Dictionary<string, KeptResult> _results = [];

    /// <summary>Keeps a result under <paramref name="id"/> (a shared result's), or under a new id when none is given.</summary>
    public string Add(KeptResult kept, string? id = null)
    {
        id ??= Guid.NewGuid().ToString("N");
        lock (_results)
        {
            // A shared id seen again (a cache hit) replaces its entry and keeps its place in the order.
            if (!_results.TryAdd(id, kept)) { _results[id] = kept; return id; }
            _order.Enqueue(id);
            while (_order.Count > Math.Max(capacity, 0)) _results.Remove(_order.Dequeue());
        }
        return id;
    }

    public bool TryGet(string id, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out KeptResult? kept)
    {
        lock (_results) return _results.TryGetValue(id, out kept);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(ModelInfo))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(DepthSummary))]
[JsonSerializable(typeof(RegionsAnswer))]
internal sealed partial class WebJson : JsonSerializerContext;
