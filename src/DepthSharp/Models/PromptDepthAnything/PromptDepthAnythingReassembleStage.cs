using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Turns each backbone stage's patch tokens (class token dropped) into a map, projected to its neck width and resized by
/// its reassemble factor. The layers are Depth Anything's (<see cref="DPTReassembleLayer"/>), weights named alike.
/// </summary>
internal sealed class PromptDepthAnythingReassembleStage
{
    private readonly string _path;
    /// <summary>One per backbone stage.</summary>
    public DPTReassembleLayer[] Layers { get; }

    /// <summary>Takes the stage's weights under <paramref name="w"/> (neck.reassemble_stage).</summary>
    public PromptDepthAnythingReassembleStage(Weights w, PromptDepthAnythingConfig c)
    {
        _path = w.Prefix;
        Layers = c.NeckHiddenSizes.Select((channels, i) =>
            new DPTReassembleLayer(w["layers"][i], c.ReassembleHiddenSize, channels, c.ReassembleFactors[i])).ToArray();
    }

    /// <summary>Stage <paramref name="index"/>'s tokens [B, 1 + h·w, hidden] (the caller's, kept) → its map [B, channels, h', w'].</summary>
    public Tensor Forward(int index, Tensor hiddenState, int patchHeight, int patchWidth)
    {
        var map = TokenMaps.PatchTokensToMap(hiddenState, patchHeight, patchWidth);
        var output = Lifetimes.Replace(map, Layers[index].Forward(map));
        ActivationTrace.Record($"{_path}.{index}", output);
        return output;
    }
}
