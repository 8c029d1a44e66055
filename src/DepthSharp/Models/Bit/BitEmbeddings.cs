using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// BiT's stem: a 7×7 stride-2 standardised convolution, a one-pixel zero border unless the padding is "SAME", group
/// norm and activation (bottleneck models only), and a 3×3 stride-2 max pool.
/// </summary>
internal sealed class BitEmbeddings
{
    private readonly string _path;
    private readonly int _numChannels;
    private readonly bool _pad;

    public WeightStandardizedConv2d Convolution { get; }
    public BitMaxPool2d Pooler { get; }
    /// <summary>Null for preactivation models, whose first unit normalises instead.</summary>
    public BitGroupNormActivation? Norm { get; }

    public BitEmbeddings(Weights w, BitConfig c)
    {
        _path = w.Prefix;
        _numChannels = c.NumChannels;
        Convolution = new WeightStandardizedConv2d(w["convolution"], c.NumChannels, c.EmbeddingSize, 7, c.Padding, stride: 2);
        Pooler = new BitMaxPool2d(3, 2, c.EmbeddingDynamicPadding);
        _pad = c.Padding != BitPadding.Same;
        if (c.LayerType != BitLayerType.Preactivation) Norm = new BitGroupNormActivation(w["norm"], c, c.EmbeddingSize);
    }

    /// <summary>[B, C, H, W] pixel values (the caller's, kept) → [B, embedding_size, h, w].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        if (pixelValues.Rank != 4 || pixelValues.Dim(1) != _numChannels)
            throw new ArgumentException($"pixel values {pixelValues} do not have the model's {_numChannels} channels");
        var embedding = Convolution.Forward(pixelValues);
        if (_pad) embedding = Lifetimes.Replace(embedding, Ops.ConstantPad2d(embedding, 1, 1, 1, 1));
        if (Norm is not null) embedding = Lifetimes.Replace(embedding, Norm.Forward(embedding));
        embedding = Lifetimes.Replace(embedding, Pooler.Forward(embedding));
        ActivationTrace.Record(_path, embedding);
        return embedding;
    }
}
