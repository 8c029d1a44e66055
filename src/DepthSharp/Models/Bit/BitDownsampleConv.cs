using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>A stage's shortcut projection: a 1×1 standardised convolution, group-normed (no activation) unless preactivation.</summary>
internal sealed class BitDownsampleConv
{
    public WeightStandardizedConv2d Conv { get; }
    public BitGroupNormActivation? Norm { get; }

    public BitDownsampleConv(Weights w, BitConfig c, int inChannels, int outChannels, int stride, bool preact)
    {
        Conv = new WeightStandardizedConv2d(w["conv"], inChannels, outChannels, 1, c.Padding, stride);
        if (!preact) Norm = new BitGroupNormActivation(w["norm"], c, outChannels, applyActivation: false);
    }

    /// <summary>[B, in, H, W] (the caller's, kept) → [B, out, h, w].</summary>
    public Tensor Forward(Tensor x)
    {
        var shortcut = Conv.Forward(x);
        return Norm is null ? shortcut : Lifetimes.Replace(shortcut, Norm.Forward(shortcut));
    }
}
