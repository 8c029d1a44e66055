using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>Where the focal length used to scale DepthPro's depth came from.</summary>
public enum FocalLengthSource { None, Model, Exif }

/// <summary>One picture's depth at its own size, with the camera estimate where the model gives one.</summary>
public sealed record DepthResult(
    float[] Depth, int Width, int Height, bool IsMetric,
    double? FieldOfView, double? FocalLength, FocalLengthSource FocalLengthSource)
{
    public Tensor AsTensor() => new(Depth, Height, Width);
}

public sealed record DepthEstimatorOptions
{
    /// <summary>Overrides the config's use_fov_model (null keeps it).</summary>
    public bool? UseFovModel { get; init; }

    /// <summary>Scale metric depth by the EXIF 35 mm focal length when the picture has one, instead of the model's FOV estimate.</summary>
    public bool PreferExifFocalLength { get; init; } = true;
}

/// <summary>A model folder (config.json, preprocessor_config.json, weights) ready to turn pictures into depth.</summary>
public sealed class DepthEstimator
{
    private readonly DepthProForDepthEstimation _model;
    private readonly DepthProImageProcessor _processor;
    private readonly DepthEstimatorOptions _options;

    public string ModelType => "depth_pro";
    public int ForwardSteps => _model.ForwardSteps;

    private DepthEstimator(DepthProForDepthEstimation model, DepthProImageProcessor processor, DepthEstimatorOptions options)
    {
        _model = model; _processor = processor; _options = options;
    }

    public static DepthEstimator Load(string modelDir, DepthEstimatorOptions? options = null)
    {
        options ??= new DepthEstimatorOptions();
        if (!Directory.Exists(modelDir)) throw new ConfigException(modelDir, "model folder not found");
        string configPath = Path.Combine(modelDir, "config.json");
        string processorPath = Path.Combine(modelDir, "preprocessor_config.json");
        string modelType = ConfigLoader.ReadModelType(configPath);
        if (modelType != "depth_pro")
            throw new ConfigException(configPath, $"model_type: '{modelType}' is not supported (supported: depth_pro)");
        var config = ConfigLoader.LoadDepthPro(configPath);
        if (IImageProcessor.Load(processorPath) is not DepthProImageProcessor processor)
            throw new ConfigException(processorPath, "image_processor_type: a DepthPro model needs DepthProImageProcessor");
        using var checkpoint = Checkpoint.OpenDirectory(modelDir);
        var source = new CheckpointWeights(checkpoint);
        var model = new DepthProForDepthEstimation(new Weights(source), config, options.UseFovModel);
        source.Finish(DepthProForDepthEstimation.IgnoredUnusedPrefixes);
        return new DepthEstimator(model, processor, options);
    }

    public DepthResult Estimate(LoadedImage image, IProgress<ModelProgress>? progress = null, CancellationToken cancel = default)
    {
        var pixelValues = _processor.Preprocess([image.Image]);
        var output = _model.Forward(pixelValues, progress, cancel);
        double? exifFocal = _options.PreferExifFocalLength ? image.ExifFocalLengthPixels : null;
        var post = DepthProPostProcessor.Process(output.PredictedDepth, output.FieldOfView,
            [(image.Image.Height, image.Image.Width)], _processor.Resample, [exifFocal])[0];
        var source = exifFocal is not null ? FocalLengthSource.Exif : post.FocalLength is not null ? FocalLengthSource.Model : FocalLengthSource.None;
        return new DepthResult(post.PredictedDepth.Data, image.Image.Width, image.Image.Height, IsMetric: post.FocalLength is not null,
            post.FieldOfView, post.FocalLength, source);
    }
}
