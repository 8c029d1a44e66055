using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>BiT as a backbone: the hidden states that out_features / out_indices name, in stage order.</summary>
internal sealed class BitBackbone
{
    private readonly string _path;

    public BitConfig Config { get; }
    public BitModel Bit { get; }

    /// <summary>Channels of each returned feature map.</summary>
    public int[] Channels { get; }

    /// <summary>Progress steps of one forward pass: one a stage.</summary>
    public int ForwardSteps => Bit.Encoder.Stages.Length;

    public BitBackbone(Weights w, BitConfig c)
    {
        _path = w.Prefix;
        Config = c;
        Bit = new BitModel(w["bit"], c);
        Channels = c.OutStageIndices.Select(c.FeatureChannels).ToArray();
    }

    /// <summary>Pixel values [B, C, H, W] (the caller's, kept) → the feature maps, new; the other hidden states are released.</summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext context)
    {
        var hiddenStates = Bit.Forward(pixelValues, context);
        var featureMaps = Config.OutStageIndices.Select(i => hiddenStates[i]).ToArray();
        for (int i = 0; i < hiddenStates.Length; i++)
            if (!Config.OutStageIndices.Contains(i)) hiddenStates[i].Release();
        for (int k = 0; k < featureMaps.Length; k++) ActivationTrace.Record($"{_path}.0.{k}", featureMaps[k]);
        return featureMaps;
    }
}
