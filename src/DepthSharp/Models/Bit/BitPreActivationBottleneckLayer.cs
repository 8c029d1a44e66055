using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// The pre-activation bottleneck unit (ResNet v2): group norm and activation before each of the 1×1, 3×3 (strided) and
/// 1×1 standardised convolutions; the shortcut, projected from the first normed input in a stage's first unit, added.
/// The reference gives this unit's 3×3 convolution no dilation, whatever output_stride asks.
/// </summary>
internal sealed class BitPreActivationBottleneckLayer : IBitLayer
{
    private readonly string _path;

    public BitDownsampleConv? Downsample { get; }
    public BitGroupNormActivation Norm1 { get; }
    public WeightStandardizedConv2d Conv1 { get; }
    public BitGroupNormActivation Norm2 { get; }
    public WeightStandardizedConv2d Conv2 { get; }
    public BitGroupNormActivation Norm3 { get; }
    public WeightStandardizedConv2d Conv3 { get; }

    /// <param name="isFirstLayer">The stage's first unit, whose shortcut is projected.</param>
    /// <param name="w">The weights under the module's path.</param>
    /// <param name="c">The validated config.</param>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels.</param>
    /// <param name="stride">The 3×3 convolution's stride.</param>
    public BitPreActivationBottleneckLayer(Weights w, BitConfig c, int inChannels, int outChannels, int stride, bool isFirstLayer)
    {
        _path = w.Prefix;
        int mid = BitConfig.MidChannels(outChannels);
        if (isFirstLayer) Downsample = new BitDownsampleConv(w["downsample"], c, inChannels, outChannels, stride, preact: true);
        Norm1 = new BitGroupNormActivation(w["norm1"], c, inChannels);
        Conv1 = new WeightStandardizedConv2d(w["conv1"], inChannels, mid, 1, c.Padding);
        Norm2 = new BitGroupNormActivation(w["norm2"], c, mid);
        Conv2 = new WeightStandardizedConv2d(w["conv2"], mid, mid, 3, c.Padding, stride);
        Norm3 = new BitGroupNormActivation(w["norm3"], c, mid);
        Conv3 = new WeightStandardizedConv2d(w["conv3"], mid, outChannels, 1, c.Padding);
    }

    /// <summary>[B, in, H, W] (the caller's, kept) → [B, out, h, w].</summary>
    public Tensor Forward(Tensor hiddenStates)
    {
        var preact = Norm1.Forward(hiddenStates);

        var shortcut = Downsample is null ? hiddenStates : Downsample.Forward(preact);

        var residual = Conv1.Forward(preact);
        preact.Release();
        residual = Lifetimes.Replace(residual, Norm2.Forward(residual));
        residual = Lifetimes.Replace(residual, Conv2.Forward(residual));
        residual = Lifetimes.Replace(residual, Norm3.Forward(residual));
        residual = Lifetimes.Replace(residual, Conv3.Forward(residual));

        Ops.AddInPlace(residual, shortcut);
        if (!ReferenceEquals(shortcut, hiddenStates)) shortcut.Release();
        ActivationTrace.Record(_path, residual);
        return residual;
    }
}
