using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Depth Anything's fusion stage (<see cref="DPTFeatureFusionStage"/>: coarsest map first, each fused map resized to the
/// next map's size, the last doubled, each recorded under <c>{neck}.{i}</c>) running this family's layers, which add the
/// prompt.
/// </summary>
internal sealed class PromptDepthAnythingFeatureFusionStage
{
    private readonly DPTFeatureFusionStage _fusion;
    /// <summary>One per neck map.</summary>
    public PromptDepthAnythingFeatureFusionLayer[] Layers { get; }

    /// <summary>Takes the stage's weights under <paramref name="w"/> (neck.fusion_stage); <paramref name="neckPath"/> names the traced outputs.</summary>
    public PromptDepthAnythingFeatureFusionStage(Weights w, string neckPath, PromptDepthAnythingConfig c)
    {
        // The head reads the last fused map (head_in_index -1).
        _fusion = new DPTFeatureFusionStage(w, neckPath, c.NeckHiddenSizes.Count, c.FusionHiddenSize,
            new ResidualUnitStyle(BatchNorm: false, Bias: true), headInIndex: -1, FusionUpsampling.ToNextMap);
        Layers = _fusion.Layers.Select((fusion, i) => new PromptDepthAnythingFeatureFusionLayer(fusion, w["layers"][i], c)).ToArray();
    }

    /// <param name="hiddenStates">Neck maps from finest to coarsest; entries are released (and cleared) as they are fused.</param>
    /// <param name="promptDepth">The normalised prompt (the caller's, kept), or null.</param>
    /// <param name="context">Progress and cancellation: one step per layer.</param>
    /// <returns>The last fused map, the one the head reads.</returns>
    public Tensor Forward(Tensor[] hiddenStates, Tensor? promptDepth, ForwardContext context) =>
        _fusion.Forward(hiddenStates, context, (i, hiddenState, residual, size, consumeHiddenState, consumeResidual) =>
            Layers[i].Forward(hiddenState, residual, size, promptDepth, consumeHiddenState, consumeResidual));
}
