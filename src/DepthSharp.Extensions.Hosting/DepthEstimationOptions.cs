using DepthSharp.Hub;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using Microsoft.Extensions.Options;

namespace DepthSharp.Extensions.Hosting;

/// <summary>
/// The shared depth pipeline's settings, set in code (<c>AddDepthEstimation(o =&gt; ...)</c>) or bound from a configuration
/// section whose keys are these property names (<c>"DepthEstimation": { "Model": "apple/DepthPro-hf", "Threads": 4 }</c>).
/// The Hub's endpoint, cache, token and offline mode come from the HF_* environment variables, as for the library.
/// </summary>
public sealed class DepthEstimationOptions
{
    /// <summary>A model folder, or a Hub repo id <c>org/name[@revision]</c> downloaded into the Hugging Face cache when not there.</summary>
    public string Model { get; set; } = ModelResolver.DefaultModel;

    /// <summary>Worker threads for the kernels; null leaves the process-wide setting (all cores). It applies to the whole process.</summary>
    public int? Threads { get; set; }

    /// <summary>The image processor: the class preprocessor_config.json names (<see cref="ImageProcessorKind.Auto"/>), or the slow or fast one forced.</summary>
    public ImageProcessorKind ImageProcessor { get; set; }

    /// <summary>Quantise the linear layers' weights to 8 bits as they load: a quarter of their memory, depth moved by the rounding.</summary>
    public bool Int8Weights { get; set; }

    /// <summary>Overrides the config's use_fov_model (DepthPro); null keeps the config's.</summary>
    public bool? UseFovModel { get; set; }

    /// <summary>Scale metric depth by a picture's EXIF 35 mm focal length when it has one, instead of the model's estimate.</summary>
    public bool PreferExifFocalLength { get; set; } = true;

    /// <summary>Average with the pass on the mirrored picture, as the original ZoeDepth does (ZoeDepth only).</summary>
    public bool FlipAverage { get; set; }

    /// <summary>A known focal length in pixels of the pictures as given; null lets EXIF or the model decide.</summary>
    public double? FocalLengthPixels { get; set; }

    /// <summary>Turn pictures upright by their EXIF orientation tag when decoding them.</summary>
    public bool ApplyExifOrientation { get; set; } = true;

    /// <summary>Pictures with more pixels than this are refused before decoding.</summary>
    public long MaxPixels { get; set; } = ImageDecodeOptions.Default.MaxPixels;

    /// <summary>
    /// Start loading the model in the background when the host starts (the default), so that the first request does not
    /// wait for it; false loads it at the first <see cref="DepthPipelineProvider.GetPipelineAsync"/>. Either way the host's
    /// start is not held up, and the health check says when the model is ready.
    /// </summary>
    public bool LoadOnStart { get; set; } = true;

    /// <summary>The library's options for these settings.</summary>
    internal DepthPipelineOptions ToPipelineOptions() => new()
    {
        Threads = Threads,
        Decode = new ImageDecodeOptions { ApplyExifOrientation = ApplyExifOrientation, MaxPixels = MaxPixels },
        Estimator = new DepthEstimatorOptions
        {
            ImageProcessor = ImageProcessor,
            Int8Weights = Int8Weights,
            UseFovModel = UseFovModel,
            PreferExifFocalLength = PreferExifFocalLength,
            FlipAverage = FlipAverage,
            FocalLengthPixels = FocalLengthPixels,
        },
    };

    /// <summary>Why these settings cannot be used, or null when they can.</summary>
    internal string? Problem() =>
        string.IsNullOrWhiteSpace(Model) ? "DepthEstimation:Model must name a model folder or a Hub repo id"
        : Threads is < 1 ? $"DepthEstimation:Threads must be at least 1 (got {Threads})"
        : FocalLengthPixels is double f && !(f > 0 && double.IsFinite(f)) ? $"DepthEstimation:FocalLengthPixels must be a positive number of pixels (got {f})"
        : MaxPixels < 1 ? $"DepthEstimation:MaxPixels must be at least 1 (got {MaxPixels})"
        : null;
}

/// <summary>Refuses settings that cannot be used, with the reason.</summary>
internal sealed class DepthEstimationOptionsValidator : IValidateOptions<DepthEstimationOptions>
{
    public ValidateOptionsResult Validate(string? name, DepthEstimationOptions options) =>
        options.Problem() is string problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
