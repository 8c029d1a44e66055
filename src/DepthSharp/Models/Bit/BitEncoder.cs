using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>The stages, with the strides and dilations <see cref="BitConfig.StageLayout"/> gives them.</summary>
internal sealed class BitEncoder
{
    public BitStage[] Stages { get; }

    public BitEncoder(Weights w, BitConfig c)
    {
        var layout = c.StageLayout();
        Stages = new BitStage[c.NumStages];
        for (int s = 0, prev = c.EmbeddingSize; s < Stages.Length; prev = c.StageChannels(s), s++)
            Stages[s] = new BitStage(w["stages"][s], c, prev, c.StageChannels(s), layout[s].Stride, layout[s].Dilation, c.Depths[s]);
    }

    /// <summary>
    /// The hidden states: [0] the input (the caller's), then each stage's output (new), as the reference's
    /// output_hidden_states lists them. Steps <paramref name="context"/> once a stage.
    /// </summary>
    public Tensor[] Forward(Tensor hiddenState, ForwardContext context)
    {
        var hiddenStates = new Tensor[Stages.Length + 1];
        hiddenStates[0] = hiddenState;
        for (int s = 0; s < Stages.Length; s++)
        {
            hiddenStates[s + 1] = Stages[s].Forward(hiddenStates[s]);
            context.Step("backbone");
        }
        return hiddenStates;
    }
}
