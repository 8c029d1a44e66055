using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Depth Anything's head (<see cref="DepthAnythingDepthEstimationHead"/>, weights named alike) without its max_depth
/// scaling, which the reference keeps but does not apply: a prompt sets the scale.
/// </summary>
/// <param name="w">The head's weights (head).</param>
/// <param name="c">The validated config.</param>
internal sealed class PromptDepthAnythingDepthEstimationHead(Weights w, PromptDepthAnythingConfig c)
{
    /// <summary>conv1, conv2, conv3 and the ReLU (relative) or sigmoid (metric) ending.</summary>
    public DepthAnythingDepthEstimationHead Head { get; } =
        new(w, c.PatchSize, c.FusionHiddenSize, c.HeadHiddenSize, c.DepthEstimationType, maxDepth: 1);

    /// <summary>The last fused map [B, fusion, h, w] (the caller's, kept) → depth [B, patchHeight·p, patchWidth·p].</summary>
    public Tensor Forward(Tensor hiddenState, int patchHeight, int patchWidth) => Head.Forward(hiddenState, patchHeight, patchWidth);
}
