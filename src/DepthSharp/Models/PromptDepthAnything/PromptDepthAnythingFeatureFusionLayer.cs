using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Depth Anything's fusion layer with the prompt added: merges the running map with the next neck map, refines it, adds
/// the prompt's features at that size, up-samples (align_corners) and projects.
/// </summary>
internal sealed class PromptDepthAnythingFeatureFusionLayer
{
    /// <summary>1×1 convolution after the up-sampling.</summary>
    public Conv2d Projection { get; }
    /// <summary>Refines the incoming neck map before it is added.</summary>
    public PreActResidualLayer ResidualLayer1 { get; }
    /// <summary>Refines the sum.</summary>
    public PreActResidualLayer ResidualLayer2 { get; }
    /// <summary>The prompt's features.</summary>
    public PromptDepthAnythingLayer PromptDepthLayer { get; }

    /// <summary>Takes the layer's weights under <paramref name="w"/> (neck.fusion_stage.layers.i).</summary>
    public PromptDepthAnythingFeatureFusionLayer(Weights w, PromptDepthAnythingConfig c)
    {
        int f = c.FusionHiddenSize;
        Projection = new Conv2d(w["projection"], f, f, 1);
        ResidualLayer1 = new PreActResidualLayer(w["residual_layer1"], f, new ResidualUnitStyle(BatchNorm: false, Bias: true));
        ResidualLayer2 = new PreActResidualLayer(w["residual_layer2"], f, new ResidualUnitStyle(BatchNorm: false, Bias: true));
        PromptDepthLayer = new PromptDepthAnythingLayer(w["prompt_depth_layer"], c);
    }

    /// <param name="hiddenState">The running map [B, fusion, h, w]; the caller's to lose.</param>
    /// <param name="residual">The next neck map, or null for the first layer; the caller's to lose.</param>
    /// <param name="size">Output size; null doubles the input's, as scale_factor=2 does.</param>
    /// <param name="promptDepth">The normalised prompt [B, 1, ph, pw] (the caller's, kept), or null.</param>
    public Tensor Forward(Tensor hiddenState, Tensor? residual, (int H, int W)? size, Tensor? promptDepth)
    {
        if (residual is not null)
        {
            // Odd grids leave the maps a pixel apart; the reference resizes the incoming map to the running one.
            if (!residual.Shape.AsSpan().SequenceEqual(hiddenState.Shape))
                residual = Lifetimes.Replace(residual,
                    Ops.Interpolate(residual, hiddenState.Dim(2), hiddenState.Dim(3), InterpolationMode.Bilinear, alignCorners: false));
            var refined = ResidualLayer1.Forward(residual, consumeInput: true);
            Ops.AddInPlace(refined, hiddenState);
            hiddenState = Lifetimes.Replace(hiddenState, refined);
        }
        hiddenState = ResidualLayer2.Forward(hiddenState, consumeInput: true);

        if (promptDepth is not null)
        {
            var prompt = Ops.Interpolate(promptDepth, hiddenState.Dim(2), hiddenState.Dim(3), InterpolationMode.Bilinear, alignCorners: false);
            var features = Lifetimes.Replace(prompt, PromptDepthLayer.Forward(prompt));
            Ops.AddInPlace(hiddenState, features);
            features.Release();
        }

        // The reference resizes, then projects. A 1×1 convolution mixes channels pixel by pixel and a bilinear resize mixes
        // pixels channel by channel with weights summing to one, so the two commute (bias included): projecting first
        // does the same on a quarter of the pixels.
        hiddenState = Lifetimes.Replace(hiddenState, Projection.Forward(hiddenState));
        return Lifetimes.Replace(hiddenState, size is (int h, int w)
            ? Ops.Interpolate(hiddenState, h, w, InterpolationMode.Bilinear, alignCorners: true)
            : Ops.Interpolate(hiddenState, 2.0, InterpolationMode.Bilinear, alignCorners: true));
    }
}
