using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// nn.Linear: weight [out, in] in the checkpoint, bias [out]. The weight is kept in one of three forms, chosen at load:
/// quantised to 8 bits when the source quantises (<see cref="Int8LinearWeights"/>), as stored when F16/BF16 (half the
/// memory; the GEMM widens it exactly as it packs), else float32 packed for the GEMM.
/// </summary>
internal sealed class Linear
{
    // Prepared once at load: a float32 weight packed in the GEMM's panel layout; a 16-bit or 8-bit one transposed to
    // [in, out] so the GEMM widens it by plain row reads (packing it widened would double or quadruple its memory).
    /// <summary>The float32 weight, packed for the GEMM (when neither 16-bit nor 8-bit).</summary>
    public PackedWeight? Weight { get; }

    /// <summary>The F16/BF16 weight as stored, transposed to [in, out].</summary>
    public HalfTensor? HalfWeightT { get; }

    /// <summary>The 8-bit weight, transposed to [in, out].</summary>
    public Int8Weight? Int8WeightT { get; }

    /// <summary>The bias [out], when the layer has one.</summary>
    public Tensor? Bias { get; }

    /// <param name="w">The layer's weights (its "weight" and "bias").</param>
    /// <param name="inFeatures">Input width.</param>
    /// <param name="outFeatures">Output width.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
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

    /// <summary>x[..., in] · Wᵀ + b → [..., out].</summary>
    public Tensor Forward(Tensor x) =>
        Int8WeightT is { } q ? Ops.LinearInt8(x, q, Bias) : HalfWeightT is { } h ? Ops.LinearWeightT(x, h, Bias) : Ops.Linear(x, Weight!, Bias);
}

/// <summary>nn.Conv2d with a square kernel: weight [out, in, k, k].</summary>
internal sealed class Conv2d(Weights w, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true)
{
    /// <summary>[out, in, k, k].</summary>
    public Tensor Weight { get; } = w.Get("weight", outChannels, inChannels, kernel, kernel);

    /// <summary>[out], when the layer has one.</summary>
    public Tensor? Bias { get; } = bias ? w.Get("bias", outChannels) : null;

    /// <summary>The convolution of x [B, in, H, W].</summary>
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
internal sealed class ConvTranspose2d(Weights w, int inChannels, int outChannels, int kernel, int stride, int padding = 0, bool bias = true)
{
    /// <summary>[in, out, k, k].</summary>
    public Tensor Weight { get; } = w.Get("weight", inChannels, outChannels, kernel, kernel);

    /// <summary>[out], when the layer has one.</summary>
    public Tensor? Bias { get; } = bias ? w.Get("bias", outChannels) : null;

    /// <summary>The transposed convolution of x [B, in, H, W].</summary>
    public Tensor Forward(Tensor x) => Ops.ConvTranspose2d(x, Weight, Bias, stride, padding);
}

/// <summary>nn.LayerNorm over the last dimension.</summary>
internal sealed class LayerNorm(Weights w, int dim, double eps)
{
    /// <summary>γ [dim].</summary>
    public Tensor Weight { get; } = w.Get("weight", dim);

    /// <summary>β [dim].</summary>
    public Tensor Bias { get; } = w.Get("bias", dim);

    /// <summary>x normalised over its last dimension, then scaled and shifted.</summary>
    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, (float)eps);
}

/// <summary>nn.BatchNorm2d in inference mode (running statistics; the saved batch count is never read).</summary>
internal sealed class BatchNorm2d
{
    private readonly double _eps;

    /// <summary>The statistics and affine parameters under <paramref name="w"/>, which may also hold num_batches_tracked.</summary>
    public BatchNorm2d(Weights w, int channels, double eps = 1e-5)
    {
        _eps = eps;
        Weight = w.Get("weight", channels);
        Bias = w.Get("bias", channels);
        RunningMean = w.Get("running_mean", channels);
        RunningVar = w.Get("running_var", channels);
        w.DeclareUnread(UnreadBuffers.NumBatchesTracked);
    }

    /// <summary>γ [channels].</summary>
    public Tensor Weight { get; }

    /// <summary>β [channels].</summary>
    public Tensor Bias { get; }

    /// <summary>The running mean [channels].</summary>
    public Tensor RunningMean { get; }

    /// <summary>The running variance [channels].</summary>
    public Tensor RunningVar { get; }

    /// <summary>x [B, C, H, W] normalised by the running statistics, then scaled and shifted.</summary>
    public Tensor Forward(Tensor x) => Ops.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, (float)_eps);
}
