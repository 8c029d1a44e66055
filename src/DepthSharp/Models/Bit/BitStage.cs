using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>A residual unit of either layer type.</summary>
internal interface IBitLayer
{
    /// <summary>[B, in, H, W] (the caller's, kept) → [B, out, h, w].</summary>
    Tensor Forward(Tensor hiddenStates);
}

/// <summary>
/// A stage of residual units: the first takes the stage's stride and projects its shortcut; the 3×3 convolutions of a
/// dilated stage start at dilation 1 (stage dilation 1 or 2) or 2 and take the stage's dilation from the second unit on.
/// </summary>
internal sealed class BitStage
{
    private readonly string _path;

    public IBitLayer[] Layers { get; }

    public BitStage(Weights w, BitConfig c, int inChannels, int outChannels, int stride, int dilation, int depth)
    {
        _path = w.Prefix;
        Layers = new IBitLayer[depth];
        int firstDilation = dilation is 1 or 2 ? 1 : 2;
        for (int i = 0, prev = inChannels; i < depth; i++, prev = outChannels)
        {
            int layerStride = i == 0 ? stride : 1;
            Layers[i] = c.LayerType == BitLayerType.Bottleneck
                ? new BitBottleneckLayer(w["layers"][i], c, prev, outChannels, layerStride, i == 0 ? firstDilation : dilation, isFirstLayer: i == 0)
                : new BitPreActivationBottleneckLayer(w["layers"][i], c, prev, outChannels, layerStride, isFirstLayer: i == 0);
        }
    }

    /// <summary>[B, in, H, W] (the caller's, kept) → [B, out, h, w].</summary>
    public Tensor Forward(Tensor input)
    {
        var hiddenState = input;
        foreach (var layer in Layers)
        {
            var next = layer.Forward(hiddenState);
            if (!ReferenceEquals(hiddenState, input)) hiddenState.Release();
            hiddenState = next;
        }
        ActivationTrace.Record(_path, hiddenState);
        return hiddenState;
    }
}
