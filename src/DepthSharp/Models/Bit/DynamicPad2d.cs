using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// TensorFlow's "SAME" padding worked out for each input: enough that a window of the kernel's reach fits at every
/// stride step up to ceil(size / stride), split with the odd pixel to the right and bottom, filled with
/// <paramref name="value"/>.
/// </summary>
internal sealed class DynamicPad2d(int kernel, int stride, int dilation, float value = 0f)
{
    /// <summary>The total padding along one side of <paramref name="size"/> pixels.</summary>
    public static int Amount(int size, int kernel, int stride, int dilation) =>
        Math.Max(((size + stride - 1) / stride - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);

    /// <summary>x[..., H, W] padded, or x itself when it needs none.</summary>
    public Tensor Forward(Tensor x)
    {
        int padH = Amount(x.Dim(-2), kernel, stride, dilation), padW = Amount(x.Dim(-1), kernel, stride, dilation);
        if (padH == 0 && padW == 0) return x;
        return Ops.ConstantPad2d(x, padW / 2, padW - padW / 2, padH / 2, padH - padH / 2, value);
    }
}
