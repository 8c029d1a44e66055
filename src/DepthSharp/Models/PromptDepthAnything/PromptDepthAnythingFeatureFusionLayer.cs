using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Depth Anything's fusion layer (<see cref="DPTFeatureFusionLayer"/>, whose residual_layer1, residual_layer2 and
/// projection weights it shares by name) with the prompt's features added between the merge and the resize.
/// </summary>
/// <param name="fusion">The DPT fusion layer built from this layer's weights.</param>
/// <param name="w">The layer's weights (neck.fusion_stage.layers.i).</param>
/// <param name="c">The validated config.</param>
internal sealed class PromptDepthAnythingFeatureFusionLayer(DPTFeatureFusionLayer fusion, Weights w, PromptDepthAnythingConfig c)
{
    /// <summary>residual_layer1, residual_layer2 and projection.</summary>
    public DPTFeatureFusionLayer Fusion { get; } = fusion;
    /// <summary>The prompt's features.</summary>
    public PromptDepthAnythingLayer PromptDepthLayer { get; } = new(w["prompt_depth_layer"], c);

    /// <param name="hiddenState">The running map [B, fusion, h, w].</param>
    /// <param name="residual">The next neck map, or null for the first layer.</param>
    /// <param name="size">Output size; null doubles the input's, as scale_factor=2 does.</param>
    /// <param name="promptDepth">The normalised prompt [B, 1, ph, pw] (the caller's, kept), or null.</param>
    /// <param name="consumeHiddenState">The running map is the caller's to lose: it is released (or written over) once read.</param>
    /// <param name="consumeResidual">The same for the next neck map.</param>
    public Tensor Forward(Tensor hiddenState, Tensor? residual, (int H, int W)? size, Tensor? promptDepth,
        bool consumeHiddenState = false, bool consumeResidual = false)
    {
        hiddenState = Fusion.Merge(hiddenState, residual, consumeHiddenState, consumeResidual);
        if (promptDepth is not null)
        {
            var prompt = Ops.Interpolate(promptDepth, hiddenState.Dim(2), hiddenState.Dim(3), InterpolationMode.Bilinear, alignCorners: false);
            var res = Lifetimes.Replace(prompt, PromptDepthLayer.Forward(prompt));
            Ops.AddInPlace(hiddenState, res);
            res.Release();
        }
        return Fusion.ResizeAndProject(hiddenState, size);
    }
}
