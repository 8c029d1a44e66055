using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// The post-activation bottleneck unit (ViT-hybrid's): 1×1, 3×3 (strided, dilated), 1×1 standardised convolutions, each
/// group-normed, the first two activated; the shortcut added; then the activation.
/// </summary>
internal sealed class BitBottleneckLayer : IBitLayer
{
    private readonly string _path;
    private readonly HiddenAct _activation;

    public BitDownsampleConv? Downsample { get; }
    public WeightStandardizedConv2d Conv1 { get; }
    public BitGroupNormActivation Norm1 { get; }
    public WeightStandardizedConv2d Conv2 { get; }
    public BitGroupNormActivation Norm2 { get; }
    public WeightStandardizedConv2d Conv3 { get; }
    public BitGroupNormActivation Norm3 { get; }

    /// <param name="firstDilation">The 3×3 convolution's dilation.</param>
    /// <param name="isFirstLayer">The stage's first unit, whose shortcut is projected.</param>
    /// <param name="w">The weights under the module's path.</param>
    /// <param name="c">The validated config.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">The 3×3 convolution's stride.</param>
    public BitBottleneckLayer(Weights w, BitConfig c, int inChannels, int outChannels, int stride, int firstDilation, bool isFirstLayer)
    {
        _path = w.Prefix;
        _activation = c.HiddenAct;
        int mid = BitConfig.MidChannels(outChannels);
        if (isFirstLayer) Downsample = new BitDownsampleConv(w["downsample"], c, inChannels, outChannels, stride, preact: false);
        Conv1 = new WeightStandardizedConv2d(w["conv1"], inChannels, mid, 1, c.Padding);
        Norm1 = new BitGroupNormActivation(w["norm1"], c, mid);
        Conv2 = new WeightStandardizedConv2d(w["conv2"], mid, mid, 3, c.Padding, stride, firstDilation);
        Norm2 = new BitGroupNormActivation(w["norm2"], c, mid);
        Conv3 = new WeightStandardizedConv2d(w["conv3"], mid, outChannels, 1, c.Padding);
        Norm3 = new BitGroupNormActivation(w["norm3"], c, outChannels, applyActivation: false);
    }

    /// <summary>[B, in, H, W] (the caller's, kept) → [B, out, h, w].</summary>
    public Tensor Forward(Tensor hiddenStates)
    {
        var shortcut = Downsample is null ? hiddenStates : Downsample.Forward(hiddenStates);

        var residual = Conv1.Forward(hiddenStates);
        residual = Lifetimes.Replace(residual, Norm1.Forward(residual));
        residual = Lifetimes.Replace(residual, Conv2.Forward(residual));
        residual = Lifetimes.Replace(residual, Norm2.Forward(residual));
        residual = Lifetimes.Replace(residual, Conv3.Forward(residual));
        residual = Lifetimes.Replace(residual, Norm3.Forward(residual));

        Ops.AddInPlace(residual, shortcut);
        if (!ReferenceEquals(shortcut, hiddenStates)) shortcut.Release();
        var output = Activation.ApplyInPlace(_activation, residual);
        ActivationTrace.Record(_path, output);
        return output;
    }
}
