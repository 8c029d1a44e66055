using DepthSharp.Models;
using DepthSharp.Processing;

namespace DepthSharp.Pipeline.Families;

/// <summary>
/// GLPN (vinvino02/glpn-kitti, glpn-nyu): metres, the head's sigmoid times max_depth, resized bicubically to the picture
/// as GLPNImageProcessor.post_process_depth_estimation does; no field of view.
/// </summary>
internal sealed class GLPNFamily : DepthModelFamily<GLPNImageProcessor>
{
    public override string ModelType => "glpn";

    /// <summary>Linearly: the bicubic resize of the head's (0, max_depth) output can reach zero, where an inverse blows up.</summary>
    public override DepthColoring ColoringFor(DepthKind kind) => DepthColoring.Linear;

    protected override DepthModel LoadModel(string folder, GLPNImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options)
    {
        var model = GLPNForDepthEstimation.FromPretrained(folder, weights);
        return new BicubicResizedDepthModel(model.ForwardSteps, model.Forward, DepthKind.Metric);
    }
}
