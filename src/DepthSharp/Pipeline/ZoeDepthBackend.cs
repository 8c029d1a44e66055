using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>ZoeDepth: metric depth in metres from the bin head the router picks for each batch (or the only one).</summary>
public sealed class ZoeDepthBackend : IDepthBackend
{
    private readonly ZoeDepthForDepthEstimation _model;
    private readonly ZoeDepthImageProcessor _processor;
    private readonly DepthEstimatorOptions _options;

    private ZoeDepthBackend(ZoeDepthForDepthEstimation model, ZoeDepthImageProcessor processor, DepthEstimatorOptions options)
    {
        _model = model; _processor = processor; _options = options;
    }

    public static IDepthBackend Create(string modelDir, IWeightSource weights, DepthEstimatorOptions options, out string[] ignoredUnusedPrefixes)
    {
        var config = ConfigLoader.LoadZoeDepth(Path.Combine(modelDir, "config.json"));
        // A folder without a processor config gets the reference processor's defaults (384x512, padding, multiples of 32).
        var processor = IImageProcessor.LoadFromFolder(modelDir, () => new ZoeDepthImageProcessor(new ImageProcessorConfig()), "ZoeDepth models", options.ImageProcessor);
        // Every tensor of a ZoeDepth checkpoint is a parameter the model uses (its index buffers are not saved).
        ignoredUnusedPrefixes = [];
        return new ZoeDepthBackend(new ZoeDepthForDepthEstimation(new Weights(weights), config), processor, options);
    }

    public string ModelType => "zoedepth";

    /// <summary>One forward pass, or two when averaging with the flipped picture.</summary>
    public int ForwardSteps => _model.ForwardSteps * (_options.FlipAverage ? 2 : 1);

    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress, CancellationToken cancel) =>
        _model.Forward(pixelValues, progress, cancel).PredictedDepth;

    public Tensor Preprocess(IReadOnlyList<RgbImage> images) => _processor.Preprocess(images);

    public (int Height, int Width) InputSize(RgbImage image) => _processor.OutputSize(image.Height, image.Width);

    public IReadOnlyList<DepthResult> Estimate(IReadOnlyList<LoadedImage> images, IProgress<ModelProgress>? progress, CancellationToken cancel)
    {
        var pixelValues = _processor.Preprocess(images.Select(i => i.Image).ToList());
        var output = _model.Forward(pixelValues, progress, cancel);
        ZoeDepthOutput? flipped = null;
        if (_options.FlipAverage)
        {
            // The flipped pass routes its own batch, as the reference does when called on the flipped pixel values.
            var offset = progress is null ? null : new OffsetProgress(progress, _model.ForwardSteps);
            flipped = _model.Forward(Ops.FlipLastDim(pixelValues), offset, cancel);
        }
        var depth = ZoeDepthPostProcessor.Process(output.PredictedDepth, images.Select(i => (i.Image.Height, i.Image.Width)).ToList(),
            flippedDepth: flipped?.PredictedDepth, removePadding: _processor.DoPad);
        return depth.Select((d, b) => new DepthResult(d.Data, images[b].Image.Width, images[b].Image.Height, IsMetric: true,
            FieldOfView: null, FocalLength: null, FocalLengthSource.None, output.Domain)).ToList();
    }

    /// <summary>Reports the second pass's steps after the first's.</summary>
    private sealed class OffsetProgress(IProgress<ModelProgress> inner, int offset) : IProgress<ModelProgress>
    {
        public void Report(ModelProgress value) => inner.Report(value with { Step = value.Step + offset, TotalSteps = value.TotalSteps + offset });
    }
}
