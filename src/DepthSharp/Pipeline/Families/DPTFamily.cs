using DepthSharp.Models;
using DepthSharp.Processing;

namespace DepthSharp.Pipeline.Families;

/// <summary>
/// DPT (Intel/dpt-large; DPT-Hybrid over BiT; DPT on a BEiT, DINOv2 or Swin V2 backbone_config): relative inverse depth,
/// resized bicubically to the picture.
/// </summary>
internal sealed class DPTFamily : DepthModelFamily<DPTImageProcessor>
{
    public override string ModelType => "dpt";

    protected override DepthModel LoadModel(string folder, DPTImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options)
    {
        var model = DPTForDepthEstimation.FromPretrained(folder, weights);
        return new BicubicResizedDepthModel(model.ForwardSteps, model.Forward, DepthKind.RelativeInverse);
    }
}
