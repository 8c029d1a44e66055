using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;

namespace DepthSharp.Pipeline.Families;

/// <summary>
/// Depth Anything V1/V2: relative inverse depth, or metres for the metric checkpoints (depth_estimation_type), resized
/// bicubically to the picture.
/// </summary>
internal sealed class DepthAnythingFamily : DepthModelFamily<DPTImageProcessor>
{
    public override string ModelType => "depth_anything";

    /// <summary>
    /// Metric depth linearly, as Depth Anything's own tools show it: its bicubic resize can reach zero, where an inverse
    /// blows up. Relative inverse depth as it is.
    /// </summary>
    public override DepthColoring ColoringFor(DepthKind kind) => kind == DepthKind.Metric ? DepthColoring.Linear : DepthColoring.Inverse;

    protected override DepthModel LoadModel(string folder, DPTImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options)
    {
        var model = DepthAnythingForDepthEstimation.FromPretrained(folder, weights);
        var kind = model.Config.DepthEstimationType == DepthEstimationType.Metric ? DepthKind.Metric : DepthKind.RelativeInverse;
        return new BicubicResizedDepthModel(model.ForwardSteps, model.Forward, kind);
    }
}
