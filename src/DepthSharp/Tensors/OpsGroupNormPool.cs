using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Tensors;

/// <summary>Group norm, constant padding and max pooling (the BiT backbone's operations).</summary>
internal static partial class Ops
{
    /// <summary>
    /// Group norm over x[B, C, ...]: C/groups consecutive channels share one mean and biased variance per batch element;
    /// then the per-channel affine map gamma, beta.
    /// </summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps)
    {
        if (x.Rank < 2 || groups <= 0 || x.Dim(1) % groups != 0 || gamma.Length != x.Dim(1) || beta.Length != x.Dim(1))
            throw new ArgumentException($"group norm of {x} in {groups} groups with weight {gamma} and bias {beta}");
        int batch = x.Dim(0), channels = x.Dim(1);
        var y = Tensor.Empty(x.Shape);
        if (y.Length == 0) return y;
        int plane = (int)(x.Length / batch / channels);
        if (Ref) Reference.GroupNorm(x.Data, batch, channels, plane, groups, gamma.Data, beta.Data, eps, y.Data);
        else Fast.GroupNorm(x.Data, batch, channels, plane, groups, gamma.Data, beta.Data, eps, y.Data);
        return y;
    }

    /// <summary>F.pad of x[..., H, W] with (left, right, top, bottom) columns and rows of <paramref name="value"/>.</summary>
    public static Tensor ConstantPad2d(Tensor x, int left, int right, int top, int bottom, float value = 0f)
    {
        if (x.Rank < 2 || left < 0 || right < 0 || top < 0 || bottom < 0)
            throw new ArgumentException($"cannot pad {x} by ({left}, {right}, {top}, {bottom})");
        int h = x.Dim(-2), w = x.Dim(-1);
        var shape = (int[])x.Shape.Clone();
        shape[^2] = checked(top + h + bottom);
        shape[^1] = checked(left + w + right);
        var y = Tensor.Empty(shape);
        int planes = h * w == 0 ? 0 : (int)(x.Length / ((long)h * w));
        if (planes == 0) return Fill(y, value);
        if (Ref) Reference.ConstantPad2d(x.Data, planes, h, w, left, right, top, bottom, value, y.Data);
        else Fast.ConstantPad2d(x.Data, planes, h, w, left, right, top, bottom, value, y.Data);
        return y;
    }

    private static Tensor Fill(Tensor t, float value)
    {
        Array.Fill(t.Data, value);
        return t;
    }

    /// <summary>F.max_pool2d of x[..., H, W] with a square window and stride, no padding, the output size rounded down.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride)
    {
        if (x.Rank < 2 || kernel <= 0 || stride <= 0 || x.Dim(-2) < kernel || x.Dim(-1) < kernel)
            throw new ArgumentException($"cannot max-pool {x} with a {kernel}x{kernel} window and stride {stride}");
        int h = x.Dim(-2), w = x.Dim(-1);
        var shape = (int[])x.Shape.Clone();
        shape[^2] = (h - kernel) / stride + 1;
        shape[^1] = (w - kernel) / stride + 1;
        var y = Tensor.Empty(shape);
        if (y.Length == 0) return y;
        int planes = (int)(x.Length / ((long)h * w));
        if (Ref) Reference.MaxPool2d(x.Data, planes, h, w, kernel, stride, y.Data);
        else Fast.MaxPool2d(x.Data, planes, h, w, kernel, stride, y.Data);
        return y;
    }
}
