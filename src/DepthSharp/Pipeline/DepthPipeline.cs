using System.Diagnostics;
using System.Runtime.CompilerServices;
using DepthSharp.Hub;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>Settings for <see cref="DepthPipeline.CreateAsync"/>.</summary>
public sealed record DepthPipelineOptions
{
    /// <summary>Model behaviour (field-of-view head, EXIF focal length, flip averaging).</summary>
    public DepthEstimatorOptions Estimator { get; init; } = new();

    /// <summary>How pictures are decoded (EXIF orientation).</summary>
    public ImageDecodeOptions Decode { get; init; } = ImageDecodeOptions.Default;

    /// <summary>Hub endpoint, cache, token and offline mode; null reads the HF_* environment variables.</summary>
    public HubOptions? Hub { get; init; }

    /// <summary>Worker threads for the kernels (process-wide: <see cref="DepthSharp.Tensors.Kernels.KernelOptions.Threads"/>); null leaves it.</summary>
    public int? Threads { get; init; }
}

/// <summary>One picture's depth with where it came from and how long each part took.</summary>
/// <param name="Depth">The depth at the picture's size, with the camera estimate where the model gives one.</param>
/// <param name="FileName">The picture's file (or the name given with a stream); null for an in-memory image.</param>
/// <param name="DecodeTime">Reading and decoding the picture (zero for an in-memory image).</param>
/// <param name="InferenceTime">Preprocessing, the forward pass and post-processing.</param>
public sealed record DepthEstimate(DepthResult Depth, string? FileName, TimeSpan DecodeTime, TimeSpan InferenceTime)
{
    /// <summary>Decode plus inference.</summary>
    public TimeSpan TotalTime => DecodeTime + InferenceTime;
}

/// <summary>
/// The front door: a model named by folder or Hub repo id (<c>org/name[@revision]</c>, fetched into the Hugging Face cache),
/// ready to turn picture files, streams or decoded images into depth.
/// </summary>
/// <example>
/// <code>
/// var pipeline = await DepthPipeline.CreateAsync("apple/DepthPro-hf");
/// var estimate = pipeline.Estimate("photo.jpg");
/// Console.WriteLine($"{estimate.Depth.Width}x{estimate.Depth.Height} in {estimate.TotalTime.TotalSeconds:F1} s");
/// </code>
/// </example>
public sealed partial class DepthPipeline
{
    private static readonly string[] PictureExtensions = [".png", ".jpg", ".jpeg"];
    private readonly ImageDecodeOptions _decode;

    private DepthPipeline(string modelFolder, DepthEstimator estimator, ImageDecodeOptions decode)
    {
        ModelFolder = modelFolder;
        Estimator = estimator;
        _decode = decode;
    }

    /// <summary>The local folder the model was loaded from (a Hub cache snapshot for a repo id).</summary>
    public string ModelFolder { get; }

    /// <summary>The loaded model, for batches and lower-level calls.</summary>
    public DepthEstimator Estimator { get; }

    /// <summary>config.json's model_type (depth_pro, zoedepth, depth_anything, dpt, glpn, prompt_depth_anything: <see cref="ModelFamilies.ModelTypes"/>).</summary>
    public string ModelType => Estimator.ModelType;

    /// <summary>
    /// Resolves <paramref name="model"/> (a folder, or a Hub repo id downloaded when not cached) and loads it strictly.
    /// <paramref name="downloadProgress"/> receives the bytes downloaded so far.
    /// </summary>
    /// <param name="model">A local model folder (config.json, weights, optional preprocessor_config.json) or a Hub repo id,
    /// <c>org/name</c> or <c>org/name@revision</c>; default apple/DepthPro-hf.</param>
    /// <param name="options">Model behaviour, decoding, Hub settings and threads; null: the defaults.</param>
    /// <param name="downloadProgress">Receives the bytes downloaded so far while a Hub model is fetched; null: none.</param>
    /// <param name="cancellationToken">Cancels the download, and the load before it starts.</param>
    /// <returns>The loaded pipeline.</returns>
    /// <exception cref="HubException">The repo, revision or a file cannot be found, fetched or verified.</exception>
    /// <exception cref="ConfigException">The config is missing a value or names an unsupported model type.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the model.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <example>
    /// A model from the Hub (cached under ~/.cache/huggingface/hub, as Python's huggingface_hub does), or from a folder:
    /// <code>
    /// var pipeline = await DepthPipeline.CreateAsync("depth-anything/Depth-Anything-V2-Small-hf");
    /// var local = await DepthPipeline.CreateAsync("/models/DepthPro-hf", new DepthPipelineOptions
    /// {
    ///     Estimator = new DepthEstimatorOptions { UseFovModel = true },
    ///     Threads = 4,
    /// });
    /// </code>
    /// </example>
    public static async Task<DepthPipeline> CreateAsync(string model = ModelResolver.DefaultModel, DepthPipelineOptions? options = null,
        IProgress<long>? downloadProgress = null, CancellationToken cancellationToken = default)
    {
        options ??= new DepthPipelineOptions();
        if (options.Threads is int threads) DepthSharp.Tensors.Kernels.KernelOptions.Threads = threads;
        string folder = await ModelResolver.ResolveAsync(model, options.Hub, downloadProgress, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        // Loading maps and converts the weights: keep it off the caller's (possibly UI) thread.
        var estimator = await Task.Run(() => DepthEstimator.Load(folder, options.Estimator), cancellationToken);
        return new DepthPipeline(folder, estimator, options.Decode);
    }

    /// <summary>Depth for a PNG or JPEG file, on the caller's thread.</summary>
    /// <param name="path">The picture file; its EXIF orientation and focal length are used.</param>
    /// <param name="progress">Receives one report per forward-pass step; null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <returns>The depth at the picture's size, with the time decoding and inference took.</returns>
    /// <exception cref="ImageFormatException">The file cannot be read or decoded.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <example>
    /// <code>
    /// var estimate = pipeline.Estimate("photo.jpg");
    /// DepthResult depth = estimate.Depth;                    // depth.Depth: Height × Width floats, row-major
    /// float centre = depth.Depth[depth.Height / 2 * depth.Width + depth.Width / 2];
    /// Console.WriteLine(depth.Kind == DepthKind.Metric
    ///     ? $"{centre:F2} m at the centre; focal length {depth.FocalLength:F0} px ({depth.FocalLengthSource})"
    ///     : $"relative depth {centre:F3} at the centre");
    /// PngEncoder.WriteGray16("depth.png", DepthExport.Png16(depth), depth.Width, depth.Height);  // millimetres when metric
    /// </code>
    /// </example>
    public DepthEstimate Estimate(string path, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default) =>
        EstimateFile(path, null, progress, cancellationToken);

    /// <summary>
    /// Depth for a PNG or JPEG file with the second input its model takes (<see cref="DepthModelFamily.ExtraInput"/>):
    /// Prompt Depth Anything's prompt depth [h, w], raw as stored (millimetres for a phone's depth; read one with
    /// <see cref="IO.PromptDepthFile.Read(string)"/>), which the processor scales by prompt_scale_to_meter.
    /// </summary>
    /// <exception cref="ImageFormatException">The file cannot be read or decoded.</exception>
    /// <exception cref="PromptDepthException">The prompt is not a map [h, w] of finite, not all equal values.</exception>
    /// <exception cref="ArgumentException">The model takes no second input.</exception>
    public DepthEstimate Estimate(string path, Tensor promptDepth, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptDepth);
        return EstimateFile(path, promptDepth, progress, cancellationToken);
    }

    /// <summary>Decodes the file, timing it, and estimates its depth unless the token was cancelled meanwhile.</summary>
    private DepthEstimate EstimateFile(string path, Tensor? promptDepth, IProgress<ModelProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var image = ImageFile.Load(path, _decode);
        return RunDecoded(image, promptDepth, path, clock.Elapsed, progress, cancellationToken);
    }

    /// <summary>Depth for a PNG or JPEG read to its end from <paramref name="stream"/>; <paramref name="name"/> appears in errors and the result.</summary>
    /// <param name="stream">The picture's bytes; read to its end, not disposed.</param>
    /// <param name="name">Appears in errors and the result; null: none.</param>
    /// <param name="progress">Receives one report per forward-pass step; null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <exception cref="ImageFormatException">The bytes cannot be decoded.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public DepthEstimate Estimate(Stream stream, string? name = null, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var image = ImageFile.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), name, _decode);
        return Run(image, null, name, clock.Elapsed, progress, cancellationToken);
    }

    /// <summary>Depth for an already decoded upright RGB image (no EXIF, so DepthPro uses its field-of-view head).</summary>
    /// <param name="image">The picture's pixels.</param>
    /// <param name="progress">Receives one report per forward-pass step; null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public DepthEstimate Estimate(RgbImage image, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Run(new LoadedImage(image, null, null), null, null, TimeSpan.Zero, progress, cancellationToken);

    /// <summary>
    /// Depth for an already decoded upright RGB image with the second input its model takes: Prompt Depth Anything's raw
    /// prompt depth [h, w] (see <see cref="Estimate(string, Tensor, IProgress{ModelProgress}?, CancellationToken)"/>).
    /// </summary>
    /// <exception cref="PromptDepthException">The prompt is not a map [h, w] of finite, not all equal values.</exception>
    /// <exception cref="ArgumentException">The model takes no second input.</exception>
    public DepthEstimate Estimate(RgbImage image, Tensor promptDepth, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promptDepth);
        return Run(new LoadedImage(image, null, null), promptDepth, null, TimeSpan.Zero, progress, cancellationToken);
    }

    /// <summary>
    /// Depth for each PNG and JPEG file directly in <paramref name="folder"/>, in file-name order, one at a time off the
    /// caller's thread. A picture that cannot be decoded stops the enumeration with its <see cref="ImageFormatException"/>.
    /// </summary>
    /// <param name="folder">The folder; subfolders are not searched.</param>
    /// <param name="progress">Receives one report per forward-pass step of each picture; null: none.</param>
    /// <param name="cancellationToken">Checked before each picture and between the forward pass's steps.</param>
    /// <exception cref="ImageFormatException">The folder does not exist, or a picture cannot be read or decoded.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public async IAsyncEnumerable<DepthEstimate> EstimateFolderAsync(string folder, IProgress<ModelProgress>? progress = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(folder)) throw new ImageFormatException(folder, "folder not found");
        var files = Directory.EnumerateFiles(folder)
            .Where(f => PictureExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        foreach (string file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return await Task.Run(() => Estimate(file, progress, cancellationToken), cancellationToken);
        }
    }

    private DepthEstimate Run(LoadedImage image, Tensor? promptDepth, string? name, TimeSpan decodeTime, IProgress<ModelProgress>? progress,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var depth = Estimator.Estimate([new DepthInput(image, promptDepth)], progress, cancellationToken)[0];
        return new DepthEstimate(depth, name, decodeTime, clock.Elapsed);
    }
}
