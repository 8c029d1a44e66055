using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;

namespace DepthSharp.Models;

/// <summary>Swinv2Encoder: the stages in turn, each fed the previous one's downsampled map.</summary>
internal sealed class Swinv2Encoder
{
    public Swinv2Stage[] Layers { get; }

    public Swinv2Encoder(Weights w, Swinv2Config c)
    {
        Layers = new Swinv2Stage[c.NumLayers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = new Swinv2Stage(w["layers"][i], c, i);
    }

    /// <summary>
    /// The hidden states the backbone asks for (output_hidden_states_before_downsampling): the embeddings, then each
    /// stage's map before its merging, with their sizes. The first is the input; the downsampled maps in between are released.
    /// </summary>
    public Swinv2Tokens[] Forward(Swinv2Tokens embeddings, ForwardContext? context = null, string progressStage = "backbone")
    {
        var allHiddenStates = new Swinv2Tokens[Layers.Length + 1];
        allHiddenStates[0] = embeddings;
        var hiddenStates = embeddings;
        for (int i = 0; i < Layers.Length; i++)
        {
            var (next, before) = Layers[i].Forward(hiddenStates, context, progressStage);
            if (i > 0) hiddenStates.HiddenStates.Release();
            allHiddenStates[i + 1] = before;
            hiddenStates = next;
        }
        return allHiddenStates;
    }
}
