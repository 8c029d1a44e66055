using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>DepthPro: metric depth scaled by the focal length from EXIF or the field-of-view head.</summary>
public sealed class DepthProBackend : IDepthBackend
{
    private readonly DepthProForDepthEstimation _model;
    private readonly DepthProImageProcessor _processor;
    private readonly DepthEstimatorOptions _options;

    private DepthProBackend(DepthProForDepthEstimation model, DepthProImageProcessor processor, DepthEstimatorOptions options)
    {
        _model = model; _processor = processor; _options = options;
    }

    public static IDepthBackend Create(string modelDir, IWeightSource weights, DepthEstimatorOptions options, out string[] ignoredUnusedPrefixes)
    {
        var config = ConfigLoader.LoadDepthPro(Path.Combine(modelDir, "config.json"));
        // A folder without a processor config gets the reference processor's defaults (1536², mean/std 0.5).
        var processor = IImageProcessor.LoadFromFolder(modelDir, () => new DepthProImageProcessor(new ImageProcessorConfig()), "DepthPro models", options.ImageProcessor);
        ignoredUnusedPrefixes = DepthProForDepthEstimation.IgnoredUnusedPrefixes;
        return new DepthProBackend(new DepthProForDepthEstimation(new Weights(weights), config, options.UseFovModel), processor, options);
    }

    public string ModelType => "depth_pro";
    public int ForwardSteps => _model.ForwardSteps;

    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress, CancellationToken cancel) =>
        _model.Forward(pixelValues, progress, cancel).PredictedDepth;

    public Tensor Preprocess(IReadOnlyList<RgbImage> images) => _processor.Preprocess(images);

    public IReadOnlyList<DepthResult> Estimate(IReadOnlyList<LoadedImage> images, IProgress<ModelProgress>? progress, CancellationToken cancel)
    {
        var pixelValues = _processor.Preprocess(images.Select(i => i.Image).ToList());
        var output = _model.Forward(pixelValues, progress, cancel);
        // The user's focal length first, then EXIF's (unless switched off), else the FOV head's estimate.
        var exifFocal = images.Select(i => _options.FocalLengthPixels ?? (_options.PreferExifFocalLength ? i.ExifFocalLengthPixels : null)).ToList();
        var post = DepthProPostProcessor.Process(output.PredictedDepth, output.FieldOfView,
            images.Select(i => (i.Image.Height, i.Image.Width)).ToList(), _processor.Resample, exifFocal);
        return post.Select((p, b) => new DepthResult(p.PredictedDepth.Data, images[b].Image.Width, images[b].Image.Height,
            IsMetric: p.FocalLength is not null, p.FieldOfView, p.FocalLength,
            _options.FocalLengthPixels is not null ? FocalLengthSource.User
            : exifFocal[b] is not null ? FocalLengthSource.Exif : p.FocalLength is not null ? FocalLengthSource.Model : FocalLengthSource.None)).ToList();
    }
}
