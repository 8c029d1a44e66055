using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// A bias-free convolution whose kernel is standardised per output channel, (w − mean) / sqrt(var + eps) with the biased
/// variance over that channel's inputs and taps, and whose padding follows global_padding.
/// </summary>
internal sealed class WeightStandardizedConv2d
{
    // Every BiT convolution (stem, units, shortcuts; both layer types) passes eps 1e-8; the reference class's own
    // default, 1e-6, is never used.
    private const double Eps = 1e-8;

    private readonly int _stride;
    private readonly int _padding;

    /// <summary>The kernel as the forward pass uses it: standardised, and spread out with zeros when dilated.</summary>
    public Tensor Weight { get; }

    /// <summary>"SAME" padding that depends on the input's size; null when the padding is fixed.</summary>
    public DynamicPad2d? Pad { get; }

    public WeightStandardizedConv2d(Weights w, int inChannels, int outChannels, int kernel, BitPadding padding,
        int stride = 1, int dilation = 1)
    {
        var weight = w.Get("weight", outChannels, inChannels, kernel, kernel);
        // The reference standardises in every forward pass; the kernel is a parameter, so once here gives the same.
        Standardize(weight);
        Weight = dilation == 1 ? weight : Dilate(weight, dilation);
        if (dilation != 1) weight.Discard();
        _stride = stride;
        int reach = dilation * (kernel - 1);
        if (padding == BitPadding.Symmetric) _padding = (stride - 1 + reach) / 2;
        // "SAME" is a fixed padding on every side when the stride is 1 and the reach even; otherwise it depends on the size.
        else if (stride == 1 && reach % 2 == 0) _padding = reach / 2;
        else Pad = new DynamicPad2d(kernel, stride, dilation);
    }

    /// <summary>[B, in, H, W] (the caller's, kept) → [B, out, h, w].</summary>
    public Tensor Forward(Tensor hiddenState)
    {
        var padded = Pad is null ? hiddenState : Pad.Forward(hiddenState);
        var output = Ops.Conv2d(padded, Weight, null, _stride, _padding);
        if (!ReferenceEquals(padded, hiddenState)) padded.Release();
        return output;
    }

    /// <summary>Standardises each output channel's kernel [in·k·k] in place, in double.</summary>
    private static void Standardize(Tensor weight)
    {
        int outChannels = weight.Dim(0), n = (int)(weight.Length / outChannels);
        for (int o = 0; o < outChannels; o++)
        {
            var row = weight.Data.AsSpan(o * n, n);
            double mean = 0;
            foreach (float v in row) mean += v;
            mean /= n;
            double variance = 0;
            foreach (float v in row) variance += (v - mean) * (v - mean);
            double inv = 1.0 / Math.Sqrt(variance / n + Eps);
            for (int i = 0; i < n; i++) row[i] = (float)((row[i] - mean) * inv);
        }
    }

    /// <summary>
    /// A kernel [O, I, k, k] with dilation d as the undilated kernel [O, I, d(k − 1) + 1, ...] that has zeros between the
    /// taps: the same convolution, with the same padding, for the plain convolution kernels.
    /// </summary>
    private static Tensor Dilate(Tensor weight, int dilation)
    {
        int o = weight.Dim(0), i = weight.Dim(1), k = weight.Dim(2), span = dilation * (k - 1) + 1;
        var spread = Tensor.Zeros(o, i, span, span);
        for (int p = 0; p < o * i; p++)
            for (int y = 0; y < k; y++)
                for (int x = 0; x < k; x++)
                    spread.Data[(p * span + y * dilation) * span + x * dilation] = weight.Data[(p * k + y) * k + x];
        return spread;
    }
}
