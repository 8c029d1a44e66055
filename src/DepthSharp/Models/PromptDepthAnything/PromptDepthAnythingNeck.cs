using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Reassembles the backbone's stages into maps, brings them to the fusion width and fuses them with the prompt.</summary>
internal sealed class PromptDepthAnythingNeck
{
    /// <summary>Tokens to maps at each stage's scale.</summary>
    public PromptDepthAnythingReassembleStage ReassembleStage { get; }
    /// <summary>3×3 convolutions (no bias) to fusion_hidden_size channels, one per map.</summary>
    public Conv2d[] Convs { get; }
    /// <summary>The fusion layers.</summary>
    public PromptDepthAnythingFeatureFusionStage FusionStage { get; }

    /// <summary>Takes the neck's weights under <paramref name="w"/> (neck).</summary>
    public PromptDepthAnythingNeck(Weights w, PromptDepthAnythingConfig c)
    {
        ReassembleStage = new PromptDepthAnythingReassembleStage(w["reassemble_stage"], c);
        Convs = c.NeckHiddenSizes.Select((channels, i) => new Conv2d(w["convs"][i], channels, c.FusionHiddenSize, 3, 1, 1, bias: false)).ToArray();
        FusionStage = new PromptDepthAnythingFeatureFusionStage(w["fusion_stage"], w.Prefix, c);
    }

    /// <param name="hiddenStates">The backbone's token sequences, released as they are used.</param>
    /// <param name="patchHeight">Token grid height.</param>
    /// <param name="patchWidth">Token grid width.</param>
    /// <param name="promptDepth">The normalised prompt (the caller's, kept), or null.</param>
    /// <param name="context">Progress and cancellation.</param>
    /// <returns>The last fused map, the one the head reads.</returns>
    public Tensor Forward(Tensor[] hiddenStates, int patchHeight, int patchWidth, Tensor? promptDepth, ForwardContext context)
    {
        if (hiddenStates.Length != Convs.Length)
            throw new ArgumentException($"the neck takes {Convs.Length} hidden states, got {hiddenStates.Length}");
        var features = new Tensor[hiddenStates.Length];
        for (int i = 0; i < hiddenStates.Length; i++)
        {
            var map = ReassembleStage.Forward(i, hiddenStates[i], patchHeight, patchWidth);
            TokenMaps.ReleaseRead(hiddenStates, i);
            features[i] = Lifetimes.Replace(map, Convs[i].Forward(map));
        }
        return FusionStage.Forward(features, promptDepth, context);
    }
}
