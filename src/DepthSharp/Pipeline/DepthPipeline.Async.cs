using System.Diagnostics;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

// The asynchronous front door, kept beside the synchronous one: each call runs its decoding and inference on the thread
// pool and checks the token between the stages (before decoding, after decoding, then inside the forward pass).
public sealed partial class DepthPipeline
{
    /// <summary>
    /// Depth for a PNG or JPEG file, decoded and estimated on the thread pool; the result equals <see cref="Estimate(string, IProgress{ModelProgress}?, CancellationToken)"/>'s.
    /// </summary>
    /// <param name="path">The picture file.</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked before decoding, before the forward pass and between its steps.</param>
    /// <exception cref="ImageFormatException">The file cannot be read or decoded.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <example>
    /// From a UI or request handler, with progress and cancellation:
    /// <code>
    /// using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(1));
    /// var progress = new Progress&lt;ModelProgress&gt;(p => Console.WriteLine($"{p.Stage} {p.Step}/{p.TotalSteps}"));
    /// var estimate = await pipeline.EstimateAsync("photo.jpg", progress, cancel.Token);
    /// Console.WriteLine($"{estimate.Depth.Kind}, {estimate.InferenceTime.TotalSeconds:F1} s");
    /// </code>
    /// </example>
    public Task<DepthEstimate> EstimateAsync(string path, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Task.Run(() => EstimateFile(path, null, progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Depth for a PNG or JPEG file with Prompt Depth Anything's raw prompt depth [h, w], decoded and estimated on the thread
    /// pool; the result equals <see cref="Estimate(string, Tensor, IProgress{ModelProgress}?, CancellationToken)"/>'s.
    /// </summary>
    /// <param name="path">The picture file.</param>
    /// <param name="promptDepth">The prompt depth map [h, w], raw as stored (millimetres for a phone's depth).</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked before decoding, before the forward pass and between its steps.</param>
    /// <exception cref="ImageFormatException">The file cannot be read or decoded.</exception>
    /// <exception cref="PromptDepthException">The prompt is not a map [h, w] of finite, not all equal values.</exception>
    /// <exception cref="ArgumentException">The model takes no second input.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public Task<DepthEstimate> EstimateAsync(string path, Tensor promptDepth, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(promptDepth);
        return Task.Run(() => EstimateFile(path, promptDepth, progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Depth for a PNG or JPEG read to its end from <paramref name="stream"/> (asynchronously), then decoded and estimated on
    /// the thread pool; the result equals <see cref="Estimate(Stream, string?, IProgress{ModelProgress}?, CancellationToken)"/>'s.
    /// </summary>
    /// <param name="stream">The picture's bytes; read to its end, not disposed.</param>
    /// <param name="name">Appears in errors and the result.</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked while reading, before decoding, before the forward pass and between its steps.</param>
    /// <exception cref="ImageFormatException">The bytes cannot be decoded.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <example>
    /// An upload in ASP.NET Core:
    /// <code>
    /// app.MapPost("/depth", async (HttpRequest request, CancellationToken cancel) =>
    /// {
    ///     var estimate = await pipeline.EstimateAsync(request.Body, "upload", cancellationToken: cancel);
    ///     return new { estimate.Depth.Width, estimate.Depth.Height, Kind = estimate.Depth.Kind.ToString() };
    /// });
    /// </code>
    /// </example>
    public async Task<DepthEstimate> EstimateAsync(Stream stream, string? name = null, IProgress<ModelProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var clock = Stopwatch.StartNew();
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return await Task.Run(() =>
        {
            var image = ImageFile.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), name, _decode);
            return RunDecoded(image, null, name, clock.Elapsed, progress, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Depth for an already decoded upright RGB image (no EXIF, so DepthPro uses its field-of-view head), estimated on the
    /// thread pool; the result equals <see cref="Estimate(RgbImage, IProgress{ModelProgress}?, CancellationToken)"/>'s.
    /// </summary>
    /// <param name="image">The picture's pixels.</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked before the forward pass and between its steps.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public Task<DepthEstimate> EstimateAsync(RgbImage image, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Task.Run(() => RunDecoded(new LoadedImage(image, null, null), null, null, TimeSpan.Zero, progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Depth for an already decoded upright RGB image with Prompt Depth Anything's raw prompt depth [h, w], estimated on the
    /// thread pool; the result equals <see cref="Estimate(RgbImage, Tensor, IProgress{ModelProgress}?, CancellationToken)"/>'s.
    /// </summary>
    /// <param name="image">The picture's pixels.</param>
    /// <param name="promptDepth">The prompt depth map [h, w], raw as stored (millimetres for a phone's depth).</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked before the forward pass and between its steps.</param>
    /// <exception cref="PromptDepthException">The prompt is not a map [h, w] of finite, not all equal values.</exception>
    /// <exception cref="ArgumentException">The model takes no second input.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public Task<DepthEstimate> EstimateAsync(RgbImage image, Tensor promptDepth, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(promptDepth);
        return Task.Run(() => RunDecoded(new LoadedImage(image, null, null), promptDepth, null, TimeSpan.Zero, progress, cancellationToken), cancellationToken);
    }

    /// <summary>The inference stages of a decoded picture, not started when the token was cancelled during decoding.</summary>
    private DepthEstimate RunDecoded(LoadedImage image, Tensor? promptDepth, string? name, TimeSpan decodeTime, IProgress<ModelProgress>? progress,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Run(image, promptDepth, name, decodeTime, progress, cancellationToken);
    }
}
