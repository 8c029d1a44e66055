using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// DPT-Hybrid's embeddings: the BiT backbone's last feature map, projected 1×1 to hidden_size, as patch tokens behind the
/// class token, plus position embeddings; the backbone's first two feature maps are handed on to the neck.
/// </summary>
internal sealed class DPTViTHybridEmbeddings
{
    // The reference always hands on the backbone's first and second feature maps.
    private static readonly int[] ResidualFeatureMapIndex = [0, 1];

    private readonly string _path;
    private readonly int _imageSize;
    private readonly int _numChannels;

    public BitBackbone Backbone { get; }
    public Conv2d Projection { get; }
    public Tensor ClsToken { get; }
    public Tensor PositionEmbeddings { get; }

    /// <summary>Progress steps of one forward pass: the backbone's.</summary>
    public int ForwardSteps => Backbone.ForwardSteps;

    /// <param name="backbone">The validated backbone_config.</param>
    /// <param name="backboneFeatmapShape">
    /// backbone_featmap_shape: its second entry is the projection's input width, which must be the last feature map's.
    /// </param>
    /// <param name="w">The weights under the module's path.</param>
    /// <param name="hiddenSize">The ViT's token width.</param>
    /// <param name="imageSize">The pixel size the position embeddings were trained for.</param>
    /// <param name="patchSize">The ViT's patch size in pixels.</param>
    /// <param name="numChannels">Colour channels of the input.</param>
    public DPTViTHybridEmbeddings(Weights w, BitConfig backbone, int hiddenSize, int imageSize, int patchSize, int numChannels,
        IReadOnlyList<int> backboneFeatmapShape)
    {
        _path = w.Prefix;
        _imageSize = imageSize;
        _numChannels = numChannels;
        Backbone = new BitBackbone(w["backbone"], backbone);
        if (Backbone.Channels.Length != 3)
            throw new ArgumentException($"DPT-Hybrid needs 3 backbone feature maps, the backbone returns {Backbone.Channels.Length}");
        if (backboneFeatmapShape.Count != 4 || backboneFeatmapShape[1] != Backbone.Channels[^1])
            throw new ArgumentException($"backbone_featmap_shape [{string.Join(", ", backboneFeatmapShape)}] does not describe the backbone's last feature map of {Backbone.Channels[^1]} channels");
        int grid = imageSize / patchSize;
        Projection = new Conv2d(w["projection"], backboneFeatmapShape[1], hiddenSize, 1);
        ClsToken = w.Get("cls_token", 1, 1, hiddenSize);
        PositionEmbeddings = w.Get("position_embeddings", 1, grid * grid + 1, hiddenSize);
    }

    /// <summary>
    /// Pixel values [B, C, image_size, image_size] (the caller's, kept) → the tokens [B, 1 + h·w, hidden] and the backbone's
    /// first two feature maps (new). The reference refuses other sizes; at this one its resize of the position embeddings
    /// to the token grid is the identity, so they are added as stored.
    /// </summary>
    public (Tensor Embeddings, Tensor[] IntermediateActivations) Forward(Tensor pixelValues, ForwardContext context)
    {
        if (pixelValues.Rank != 4 || pixelValues.Dim(1) != _numChannels)
            throw new ArgumentException($"pixel values {pixelValues} do not have the model's {_numChannels} channels");
        if (pixelValues.Dim(2) != _imageSize || pixelValues.Dim(3) != _imageSize)
            throw new ArgumentException($"input image size ({pixelValues.Dim(2)}*{pixelValues.Dim(3)}) doesn't match the model's ({_imageSize}*{_imageSize})");
        int batch = pixelValues.Dim(0);

        var featureMaps = Backbone.Forward(pixelValues, context);
        var features = featureMaps[^1];
        var intermediate = ResidualFeatureMapIndex.Select(i => featureMaps[i]).ToArray();

        var projected = Projection.Forward(features);
        features.Release();
        int dim = projected.Dim(1), n = projected.Dim(2) * projected.Dim(3);
        if (n + 1 != PositionEmbeddings.Dim(1))
            throw new InvalidOperationException($"the backbone gave {n} tokens for {PositionEmbeddings.Dim(1) - 1} position embeddings");
        var tokens = Lifetimes.Replace(projected, Ops.Permute(projected.Reshape(batch, dim, n), 0, 2, 1));

        var embeddings = Tensor.Empty(batch, n + 1, dim);
        for (int b = 0; b < batch; b++)
        {
            var dst = embeddings.Data.AsSpan(b * (n + 1) * dim, (n + 1) * dim);
            ClsToken.Data.CopyTo(dst[..dim]);
            tokens.Data.AsSpan(b * n * dim, n * dim).CopyTo(dst[dim..]);
            System.Numerics.Tensors.TensorPrimitives.Add(dst, PositionEmbeddings.Data, dst);
        }
        tokens.Release();

        ActivationTrace.Record($"{_path}.0", embeddings);
        for (int k = 0; k < intermediate.Length; k++) ActivationTrace.Record($"{_path}.1.{k}", intermediate[k]);
        return (embeddings, intermediate);
    }
}
