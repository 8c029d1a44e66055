using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>A token map [B, height·width, C] with its height and width (the reference's output_dimensions).</summary>
internal readonly record struct Swinv2Tokens(Tensor HiddenStates, int Height, int Width);

/// <summary>Swinv2PatchEmbeddings: a patch_size-strided convolution over the picture, padded right and bottom to whole patches.</summary>
internal sealed class Swinv2PatchEmbeddings(Weights w, Swinv2Config c)
{
    public Conv2d Projection { get; } = new(w["projection"], c.NumChannels, c.EmbedDim, c.PatchSize, c.PatchSize);

    /// <summary>[B, C, H, W] → [B, ⌈H/p⌉·⌈W/p⌉, embed_dim] and the patch grid.</summary>
    public Swinv2Tokens Forward(Tensor pixelValues)
    {
        if (pixelValues.Rank != 4 || pixelValues.Dim(1) != c.NumChannels || pixelValues.Dim(2) < 1 || pixelValues.Dim(3) < 1)
            throw new ArgumentException($"pixel values {pixelValues} are not a [B, {c.NumChannels}, H, W] picture");
        var padded = MaybePad(pixelValues, pixelValues.Dim(2), pixelValues.Dim(3));
        var embeddings = Projection.Forward(padded);
        if (padded != pixelValues) padded.Release();
        int batch = embeddings.Dim(0), channels = embeddings.Dim(1), height = embeddings.Dim(2), width = embeddings.Dim(3);
        embeddings = Lifetimes.Replace(embeddings, Ops.Permute(embeddings.Reshape(batch, channels, height * width), 0, 2, 1));
        return new Swinv2Tokens(embeddings, height, width);
    }

    /// <summary>Zeros appended to the right and the bottom up to whole patches; the input itself when it needs none.</summary>
    private Tensor MaybePad(Tensor pixelValues, int height, int width)
    {
        int p = c.PatchSize;
        int right = (p - width % p) % p, bottom = (p - height % p) % p;
        return right == 0 && bottom == 0 ? pixelValues : Ops.ConstantPad2d(pixelValues, 0, right, 0, bottom);
    }
}

/// <summary>Swinv2Embeddings as the backbone builds it: patch embeddings then a layer norm (no mask token, no absolute positions).</summary>
internal sealed class Swinv2Embeddings(Weights w, Swinv2Config c)
{
    private readonly string _path = w.Prefix;
    public Swinv2PatchEmbeddings PatchEmbeddings { get; } = new(w["patch_embeddings"], c);
    // nn.LayerNorm's own eps: the reference does not pass layer_norm_eps here.
    public LayerNorm Norm { get; } = new(w["norm"], c.EmbedDim, 1e-5);

    public Swinv2Tokens Forward(Tensor pixelValues)
    {
        var (embeddings, height, width) = PatchEmbeddings.Forward(pixelValues);
        embeddings = Lifetimes.Replace(embeddings, Norm.Forward(embeddings));
        ActivationTrace.Record($"{_path}.0", embeddings);
        return new Swinv2Tokens(embeddings, height, width);
    }
}
