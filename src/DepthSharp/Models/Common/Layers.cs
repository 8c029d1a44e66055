using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// nn.Linear: weight [out, in] in the checkpoint, bias [out]. The weight is kept in one of three forms, chosen at load:
/// quantised to 8 bits when the source quantises (<see cref="Int8LinearWeights"/>), as stored when F16/BF16 (half the
/// memory; the GEMM widens it exactly as it packs), else float32 packed for the GEMM.
/// </summary>
public sealed class Linear
{
    // Prepared once at load: a float32 weight packed in the GEMM's panel layout; a 16-bit or 8-bit one transposed to
    // [in, out] so the GEMM widens it by plain row reads (packing it widened would double or quadruple its memory).
    public PackedWeight? Weight { get; }
    public HalfTensor? HalfWeightT { get; }
    public Int8Weight? Int8WeightT { get; }
    public Tensor? Bias { get; }

    public Linear(Weights w, int inFeatures, int outFeatures, bool bias = true)
    {
        // The checkpoint-layout copies die here; released, they count towards the next collection, so a model's load does
        // not leave its size in garbage behind.
        if (w.GetInt8("weight", outFeatures, inFeatures) is { } int8)
            Int8WeightT = int8;
        else if (w.GetHalf("weight", outFeatures, inFeatures) is { } half)
        {
            HalfWeightT = half.Transpose2D();
            half.Release();
        }
        else
        {
            var weight = w.Get("weight", outFeatures, inFeatures);
            Weight = new PackedWeight(weight);
            weight.Discard();
        }
        Bias = bias ? w.Get("bias", outFeatures) : null;
    }

    public Tensor Forward(Tensor x) =>
        Int8WeightT is { } q ? Ops.LinearInt8(x, q, Bias) : HalfWeightT is { } h ? Ops.LinearWeightT(x, h, Bias) : Ops.Linear(x, Weight!, Bias);
}

/// <summary>nn.Conv2d with a square kernel: weight [out, in, k, k].</summary>
public sealed class Conv2d(Weights w, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true)
{
    public Tensor Weight { get; } = w.Get("weight", outChannels, inChannels, kernel, kernel);
    public Tensor? Bias { get; } = bias ? w.Get("bias", outChannels) : null;
    public Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight, Bias, stride, padding);

    /// <summary>conv(relu(x)) when asked, added into <paramref name="addTo"/> when given (see <see cref="Ops.Conv2d"/>).</summary>
    public Tensor Forward(Tensor x, bool reluInput, Tensor? addTo = null) => Ops.Conv2d(x, Weight, Bias, stride, padding, reluInput, addTo);

    /// <summary>
    /// A 1×1 convolution that keeps the channel count, written over its input (the caller's to lose) in bands of
    /// <paramref name="bandRows"/> rows: an output pixel reads only its own input pixel, so each band's result can replace
    /// the band, and no second full-size map is made.
    /// </summary>
    public Tensor ForwardInPlace(Tensor x, int bandRows)
    {
        if (kernel != 1 || stride != 1 || padding != 0 || inChannels != outChannels)
            throw new InvalidOperationException($"only a 1×1 convolution that keeps its channels can overwrite its input, not {Weight}");
        int h = x.Dim(2);
        for (int a = 0; a < h; a += bandRows)
        {
            int rows = Math.Min(bandRows, h - a);
            var band = Ops.Narrow(x, 2, a, rows);
            var projected = Lifetimes.Replace(band, Forward(band));
            Ops.CopySlice(projected, 0, x, a, 2, rows);
            projected.Release();
        }
        return x;
    }
}

/// <summary>nn.ConvTranspose2d with a square kernel: weight [in, out, k, k].</summary>
public sealed class ConvTranspose2d(Weights w, int inChannels, int outChannels, int kernel, int stride, int padding = 0, bool bias = true)
{
    public Tensor Weight { get; } = w.Get("weight", inChannels, outChannels, kernel, kernel);
    public Tensor? Bias { get; } = bias ? w.Get("bias", outChannels) : null;
    public Tensor Forward(Tensor x) => Ops.ConvTranspose2d(x, Weight, Bias, stride, padding);
}

/// <summary>nn.LayerNorm over the last dimension.</summary>
public sealed class LayerNorm(Weights w, int dim, double eps)
{
    public Tensor Weight { get; } = w.Get("weight", dim);
    public Tensor Bias { get; } = w.Get("bias", dim);
    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, (float)eps);
}

/// <summary>nn.BatchNorm2d in inference mode (running statistics).</summary>
public sealed class BatchNorm2d(Weights w, int channels, double eps = 1e-5)
{
    public Tensor Weight { get; } = w.Get("weight", channels);
    public Tensor Bias { get; } = w.Get("bias", channels);
    public Tensor RunningMean { get; } = w.Get("running_mean", channels);
    public Tensor RunningVar { get; } = w.Get("running_var", channels);
    public Tensor Forward(Tensor x) => Ops.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, (float)eps);
}
