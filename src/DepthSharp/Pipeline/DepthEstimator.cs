using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>Where the focal length used to scale metric depth came from.</summary>
public enum FocalLengthSource { None, Model, Exif, User }

/// <summary>
/// One picture's depth at its own size, with the camera estimate where the model gives one, and for models with
/// several domain heads (ZoeDepth) the name of the head that produced it.
/// </summary>
public sealed record DepthResult(
    float[] Depth, int Width, int Height, bool IsMetric,
    double? FieldOfView, double? FocalLength, FocalLengthSource FocalLengthSource, string? Domain = null)
{
    public Tensor AsTensor() => new(Depth, Height, Width);

    /// <summary>The values are relative inverse depth (disparity: larger is nearer), as DPT and relative Depth Anything give.</summary>
    public bool IsInverseDepth { get; init; }
}

public sealed record DepthEstimatorOptions
{
    /// <summary>Overrides the config's use_fov_model (DepthPro; null keeps it).</summary>
    public bool? UseFovModel { get; init; }

    /// <summary>Scale metric depth by the EXIF 35 mm focal length when the picture has one, instead of the model's FOV estimate.</summary>
    public bool PreferExifFocalLength { get; init; } = true;

    /// <summary>Average with the output for the horizontally flipped picture, as the original ZoeDepth does (ZoeDepth).</summary>
    public bool FlipAverage { get; init; }

    /// <summary>
    /// The camera's focal length in pixels of the picture as given, known to the user: DepthPro scales its depth by it
    /// instead of EXIF or its FOV head, and other models report it for point clouds.
    /// </summary>
    public double? FocalLengthPixels { get; init; }

    /// <summary>
    /// Quantise the linear layers' weights to 8 bits per output feature as they load (<see cref="Tensors.Int8Weight"/>):
    /// a quarter of their float32 memory, computed in float32; the depth moves by the weights' rounding (see BENCHMARKS.md).
    /// </summary>
    public bool Int8Weights { get; init; }

    /// <summary>
    /// The image processor: the class preprocessor_config.json names (<see cref="ImageProcessorKind.Auto"/>), or
    /// transformers' slow or fast one forced; for DPT and Depth Anything their pixel values differ (see <see cref="DPTImageProcessorFast"/>).
    /// </summary>
    public ImageProcessorKind ImageProcessor { get; init; }
}

/// <summary>
/// One model family behind the pipeline: it owns its model, processor and post-processing.
/// Families register in <see cref="DepthEstimator.Families"/> by their config.json model_type.
/// </summary>
public interface IDepthBackend
{
    string ModelType { get; }

    /// <summary>Progress steps of one forward pass.</summary>
    int ForwardSteps { get; }

    /// <summary>Runs the model on raw pixel values [B,3,H,W] (benchmarks time this): its depth [B, h, w] before post-processing.</summary>
    Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress, CancellationToken cancel);

    /// <summary>The processor's input for a picture (what `preprocess` writes).</summary>
    Tensor Preprocess(IReadOnlyList<RgbImage> images);

    /// <summary>[H, W] of the model input for a picture: pictures form one batch only when theirs agree.</summary>
    (int Height, int Width) InputSize(RgbImage image)
    {
        var pixels = Preprocess([image]);
        return (pixels.Dim(2), pixels.Dim(3));
    }

    /// <summary>Depth for each picture at its own size.</summary>
    IReadOnlyList<DepthResult> Estimate(IReadOnlyList<LoadedImage> images, IProgress<ModelProgress>? progress, CancellationToken cancel);
}

/// <summary>How a family builds itself from a model folder, with weights from a source the caller picks.</summary>
public delegate IDepthBackend BackendFactory(string modelDir, IWeightSource weights, DepthEstimatorOptions options, out string[] ignoredUnusedPrefixes);

/// <summary>A model folder (config.json, preprocessor_config.json, weights) ready to turn pictures into depth.</summary>
public sealed class DepthEstimator
{
    public static IReadOnlyDictionary<string, BackendFactory> Families { get; } = new Dictionary<string, BackendFactory>
    {
        ["depth_pro"] = DepthProBackend.Create,
        ["zoedepth"] = ZoeDepthBackend.Create,
        ["depth_anything"] = DPTBackend.CreateDepthAnything,
        ["dpt"] = DPTBackend.CreateDpt,
    };

    public IDepthBackend Backend { get; }
    public string ModelType => Backend.ModelType;
    public int ForwardSteps => Backend.ForwardSteps;

    private readonly DepthEstimatorOptions _options;

    private DepthEstimator(IDepthBackend backend, DepthEstimatorOptions options)
    {
        Backend = backend;
        _options = options;
    }

    private static BackendFactory Family(string modelDir)
    {
        if (!Directory.Exists(modelDir)) throw new ConfigException(modelDir, "model folder not found");
        string configPath = Path.Combine(modelDir, "config.json");
        string modelType = ConfigLoader.ReadModelType(configPath);
        return Families.TryGetValue(modelType, out var factory) ? factory
            : throw new ConfigException(configPath, $"model_type: '{modelType}' is not supported (supported: {string.Join(", ", Families.Keys)})");
    }

    /// <summary>
    /// Loading leaves the checkpoint-layout copies of the weights as garbage, and the collector would keep their pages for
    /// itself: one compacting collection gives them back, so the first forward pass starts from the weights alone.
    /// </summary>
    private static void ReturnLoadGarbage() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

    /// <summary>Loads a model folder strictly: every missing, unused or misshapen tensor is reported by name.</summary>
    public static DepthEstimator Load(string modelDir, DepthEstimatorOptions? options = null)
    {
        var factory = Family(modelDir);
        options ??= new DepthEstimatorOptions();
        using var checkpoint = Checkpoint.OpenDirectory(modelDir);
        var source = new CheckpointWeights(checkpoint);
        var backend = factory(modelDir, options.Int8Weights ? new Int8LinearWeights(source, checkpoint.Source) : source, options, out var ignored);
        source.Finish(ignored);
        ReturnLoadGarbage();
        return new DepthEstimator(backend, options);
    }

    /// <summary>
    /// The architecture of a model folder's config.json with random weights (benchmarks; no checkpoint needed); with
    /// <paramref name="halfWeights"/>, the linear layers' matrices are kept in that format as from a half-width checkpoint.
    /// </summary>
    public static DepthEstimator LoadRandom(string modelDir, int seed = 0, DepthEstimatorOptions? options = null, HalfKind? halfWeights = null)
    {
        options ??= new DepthEstimatorOptions();
        IWeightSource source = new RandomWeights(seed, halfWeights);
        var backend = Family(modelDir)(modelDir, options.Int8Weights ? new Int8LinearWeights(source) : source, options, out _);
        ReturnLoadGarbage();
        return new(backend, options);
    }

    public DepthResult Estimate(LoadedImage image, IProgress<ModelProgress>? progress = null, CancellationToken cancel = default) =>
        Estimate([image], progress, cancel)[0];

    public IReadOnlyList<DepthResult> Estimate(IReadOnlyList<LoadedImage> images, IProgress<ModelProgress>? progress = null, CancellationToken cancel = default)
    {
        var results = Backend.Estimate(images, progress, cancel);
        // A user's focal length is reported by every family (DepthPro has already scaled its depth by it).
        return _options.FocalLengthPixels is double f
            ? results.Select(r => r.FocalLengthSource == FocalLengthSource.User ? r : r with { FocalLength = f, FocalLengthSource = FocalLengthSource.User }).ToList()
            : results;
    }
}
