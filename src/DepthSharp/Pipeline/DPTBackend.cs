using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>
/// DPT and Depth Anything: DPTImageProcessor in, depth resized bicubically to each picture out. Relative models give
/// inverse depth (larger is nearer); Depth Anything's metric models give metres.
/// </summary>
public sealed class DPTBackend : IDepthBackend
{
    private readonly Func<Tensor, IProgress<ModelProgress>?, CancellationToken, Tensor> _forward;
    private readonly DPTImageProcessor _processor;

    private DPTBackend(string modelType, int forwardSteps, bool isMetric, Func<Tensor, IProgress<ModelProgress>?, CancellationToken, Tensor> forward,
        DPTImageProcessor processor)
    {
        ModelType = modelType;
        ForwardSteps = forwardSteps;
        IsMetric = isMetric;
        _forward = forward;
        _processor = processor;
    }

    public static IDepthBackend CreateDepthAnything(string modelDir, IWeightSource weights, DepthEstimatorOptions options, out string[] ignoredUnusedPrefixes)
    {
        var config = ConfigLoader.LoadDepthAnything(Path.Combine(modelDir, "config.json"));
        var processor = LoadProcessor(modelDir);
        var model = new DepthAnythingForDepthEstimation(new Weights(weights), config);
        ignoredUnusedPrefixes = [];
        return new DPTBackend("depth_anything", model.ForwardSteps, config.DepthEstimationType == DepthEstimationType.Metric, model.Forward, processor);
    }

    public static IDepthBackend CreateDpt(string modelDir, IWeightSource weights, DepthEstimatorOptions options, out string[] ignoredUnusedPrefixes)
    {
        var config = ConfigLoader.LoadDpt(Path.Combine(modelDir, "config.json"));
        var processor = LoadProcessor(modelDir);
        var model = new DPTForDepthEstimation(new Weights(weights), config);
        ignoredUnusedPrefixes = [];
        return new DPTBackend("dpt", model.ForwardSteps, isMetric: false, model.Forward, processor);
    }

    /// <summary>The folder's processor; without preprocessor_config.json, the reference class's defaults (384², mean/std 0.5).</summary>
    private static DPTImageProcessor LoadProcessor(string modelDir) =>
        IImageProcessor.LoadFromFolder(modelDir, () => new DPTImageProcessor(new ImageProcessorConfig()), "DPT and Depth Anything models");

    public string ModelType { get; }
    public int ForwardSteps { get; }

    /// <summary>Metres (Depth Anything's metric models) rather than relative inverse depth.</summary>
    public bool IsMetric { get; }

    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress, CancellationToken cancel) => _forward(pixelValues, progress, cancel);

    public Tensor Preprocess(IReadOnlyList<RgbImage> images) => _processor.Preprocess(images);

    public IReadOnlyList<DepthResult> Estimate(IReadOnlyList<LoadedImage> images, IProgress<ModelProgress>? progress, CancellationToken cancel)
    {
        var pixelValues = _processor.Preprocess(images.Select(i => i.Image).ToList());
        var depth = _forward(pixelValues, progress, cancel);
        var post = DPTPostProcessor.Process(depth, images.Select(i => (i.Image.Height, i.Image.Width)).ToList());
        return post.Select((d, b) => new DepthResult(d.Data, images[b].Image.Width, images[b].Image.Height, IsMetric, null, null, FocalLengthSource.None)
        {
            IsInverseDepth = !IsMetric,
        }).ToList();
    }
}
