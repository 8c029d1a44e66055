using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Max pooling with TensorFlow's "SAME" padding when <paramref name="useDynamicPadding"/>, else none. The padding is
/// filled with 0, not −∞, as the reference's is: a window reaching into it takes at least 0.
/// </summary>
internal sealed class BitMaxPool2d(int kernel, int stride, bool useDynamicPadding)
{
    public DynamicPad2d? Pad { get; } = useDynamicPadding ? new DynamicPad2d(kernel, stride, 1) : null;

    /// <summary>[B, C, H, W] (the caller's, kept) → the pooled map.</summary>
    public Tensor Forward(Tensor hiddenStates)
    {
        var padded = Pad is null ? hiddenStates : Pad.Forward(hiddenStates);
        var pooled = Ops.MaxPool2d(padded, kernel, stride);
        if (!ReferenceEquals(padded, hiddenStates)) padded.Release();
        return pooled;
    }
}
