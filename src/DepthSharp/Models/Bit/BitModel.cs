using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// BiT without its classifier: the stem and the stages. A preactivation model also holds a final group norm, and the
/// reference pools its output; a backbone returns only the hidden states, which come before both, so neither is run.
/// </summary>
internal sealed class BitModel
{
    public BitEmbeddings Embedder { get; }
    public BitEncoder Encoder { get; }
    /// <summary>A parameter of preactivation checkpoints, never applied here (see the class summary).</summary>
    public BitGroupNormActivation? Norm { get; }

    public BitModel(Weights w, BitConfig c)
    {
        Embedder = new BitEmbeddings(w["embedder"], c);
        Encoder = new BitEncoder(w["encoder"], c);
        if (c.LayerType == BitLayerType.Preactivation) Norm = new BitGroupNormActivation(w["norm"], c, c.HiddenSizes[^1]);
    }

    /// <summary>The stem's output and each stage's, [B, C_i, H_i, W_i], all new.</summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext context)
    {
        var embeddingOutput = Embedder.Forward(pixelValues);
        return Encoder.Forward(embeddingOutput, context);
    }
}
