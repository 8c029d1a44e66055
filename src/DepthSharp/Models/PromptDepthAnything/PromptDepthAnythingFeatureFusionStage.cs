using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// The fusion layers, run from the coarsest neck map to the finest, each fused map resized to the next map's size (the
/// last one doubled). Records every fused map under <c>{neck}.{i}</c>, the neck's outputs in the reference.
/// </summary>
internal sealed class PromptDepthAnythingFeatureFusionStage
{
    private readonly string _neckPath;
    /// <summary>One per neck map.</summary>
    public PromptDepthAnythingFeatureFusionLayer[] Layers { get; }

    /// <summary>Takes the stage's weights under <paramref name="w"/> (neck.fusion_stage); <paramref name="neckPath"/> names the traced outputs.</summary>
    public PromptDepthAnythingFeatureFusionStage(Weights w, string neckPath, PromptDepthAnythingConfig c)
    {
        _neckPath = neckPath;
        Layers = Enumerable.Range(0, c.NeckHiddenSizes.Count).Select(i => new PromptDepthAnythingFeatureFusionLayer(w["layers"][i], c)).ToArray();
    }

    /// <param name="hiddenStates">Neck maps from finest to coarsest; entries are released (and cleared) as they are fused.</param>
    /// <param name="promptDepth">The normalised prompt (the caller's, kept), or null.</param>
    /// <param name="context">Progress and cancellation: one step per layer.</param>
    /// <returns>The last fused map, the one the head reads.</returns>
    public Tensor Forward(Tensor[] hiddenStates, Tensor? promptDepth, ForwardContext context)
    {
        if (hiddenStates.Length != Layers.Length) throw new ArgumentException($"fusion stage has {Layers.Length} layers but got {hiddenStates.Length} maps");
        Tensor? fused = null;
        for (int idx = 0; idx < Layers.Length; idx++)
        {
            int from = hiddenStates.Length - 1 - idx;
            (int, int)? size = from > 0 ? (hiddenStates[from - 1].Dim(2), hiddenStates[from - 1].Dim(3)) : null;
            fused = fused is null
                ? Layers[idx].Forward(hiddenStates[from], null, size, promptDepth)
                : Layers[idx].Forward(fused, hiddenStates[from], size, promptDepth);
            hiddenStates[from] = null!;
            ActivationTrace.Record($"{_neckPath}.{idx}", fused);
            context.Step("fusion");
        }
        return fused!;
    }
}
