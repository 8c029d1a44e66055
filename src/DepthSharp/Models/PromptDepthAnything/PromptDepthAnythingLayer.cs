using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// The prompt's features for one fusion layer: three 3×3 convolutions (1 → fusion → fusion channels, ReLU between) over
/// the normalised prompt resized to the fused map's size.
/// </summary>
internal sealed class PromptDepthAnythingLayer
{
    private readonly string _path;
    /// <summary>1 → fusion_hidden_size channels.</summary>
    public Conv2d Convolution1 { get; }
    /// <summary>fusion_hidden_size → fusion_hidden_size channels, after a ReLU.</summary>
    public Conv2d Convolution2 { get; }
    /// <summary>fusion_hidden_size → fusion_hidden_size channels, after a ReLU.</summary>
    public Conv2d Convolution3 { get; }

    /// <summary>Takes the layer's weights under <paramref name="w"/> (…prompt_depth_layer).</summary>
    public PromptDepthAnythingLayer(Weights w, PromptDepthAnythingConfig c)
    {
        _path = w.Prefix;
        int f = c.FusionHiddenSize;
        Convolution1 = new Conv2d(w["convolution1"], 1, f, 3, 1, 1);
        Convolution2 = new Conv2d(w["convolution2"], f, f, 3, 1, 1);
        Convolution3 = new Conv2d(w["convolution3"], f, f, 3, 1, 1);
    }

    /// <summary>The prompt [B, 1, h, w] (the caller's, kept) → features [B, fusion, h, w].</summary>
    public Tensor Forward(Tensor promptDepth)
    {
        var hiddenState = Convolution1.Forward(promptDepth);
        // The ReLUs are applied as the next convolution reads its input.
        hiddenState = Lifetimes.Replace(hiddenState, Convolution2.Forward(hiddenState, reluInput: true));
        hiddenState = Lifetimes.Replace(hiddenState, Convolution3.Forward(hiddenState, reluInput: true));
        ActivationTrace.Record(_path, hiddenState);
        return hiddenState;
    }
}
