using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>A strided convolution with overlapping windows (padded by half the kernel), its map flattened to tokens and layer-normed.</summary>
internal sealed class GLPNOverlapPatchEmbeddings
{
    private readonly string _path;
    /// <summary>The overlapping strided convolution.</summary>
    public Conv2d Proj { get; }
    /// <summary>Over each token's channels (eps 1e-5).</summary>
    public LayerNorm LayerNorm { get; }

    /// <summary>A stage's embedding: <paramref name="numChannels"/> → <paramref name="hiddenSize"/> channels, kernel <paramref name="patchSize"/>, stride <paramref name="stride"/>.</summary>
    public GLPNOverlapPatchEmbeddings(Weights w, int patchSize, int stride, int numChannels, int hiddenSize)
    {
        _path = w.Prefix;
        Proj = new Conv2d(w["proj"], numChannels, hiddenSize, patchSize, stride, patchSize / 2);
        LayerNorm = new LayerNorm(w["layer_norm"], hiddenSize, GLPNConfig.ModuleLayerNormEps);
    }

    /// <summary>A map [B, C, H, W] (the caller's, kept) → tokens [B, h·w, hidden] and the embedded map's h and w.</summary>
    public (Tensor Embeddings, int Height, int Width) Forward(Tensor pixelValues)
    {
        var embeddings = Proj.Forward(pixelValues);
        int height = embeddings.Dim(2), width = embeddings.Dim(3);
        embeddings = Lifetimes.Replace(embeddings, TokenLayout.MapToTokens(embeddings));
        embeddings = Lifetimes.Replace(embeddings, LayerNorm.Forward(embeddings));
        ActivationTrace.Record($"{_path}.0", embeddings);
        return (embeddings, height, width);
    }
}

/// <summary>
/// Self-attention whose keys and values come from a shorter sequence: with sr_ratio &gt; 1 the tokens, as a map, go
/// through a convolution of kernel and stride sr_ratio and a layer norm first (PVT's spatial reduction).
/// </summary>
internal sealed class GLPNEfficientSelfAttention
{
    private readonly int _heads;
    private readonly int _ratio;
    private readonly float _scale;
    /// <summary>Queries from every token.</summary>
    public Linear Query { get; }
    /// <summary>Keys from the (reduced) tokens.</summary>
    public Linear Key { get; }
    /// <summary>Values from the (reduced) tokens.</summary>
    public Linear Value { get; }

    /// <summary>
    /// sr, nn.Conv2d(C, C, kernel = stride = sr_ratio): a kernel that tiles the map is a linear layer over each r × r
    /// patch of tokens, so its [C, C, r, r] weight is held as [C, r·r·C] in the patches' channels-last order and packed
    /// for the GEMM (no transposes to a map and back, no im2col).
    /// </summary>
    public PackedWeight? Sr { get; }
    /// <summary>sr's bias.</summary>
    public Tensor? SrBias { get; }
    /// <summary>Over the reduced tokens (eps 1e-5); with <see cref="Sr"/> only.</summary>
    public LayerNorm? LayerNorm { get; }

    /// <summary>Reads self-attention's weights under <paramref name="w"/>.</summary>
    public GLPNEfficientSelfAttention(Weights w, int hiddenSize, int numAttentionHeads, int sequenceReductionRatio)
    {
        _heads = numAttentionHeads;
        _ratio = sequenceReductionRatio;
        _scale = (float)(1 / Math.Sqrt(hiddenSize / numAttentionHeads));
        Query = new Linear(w["query"], hiddenSize, hiddenSize);
        Key = new Linear(w["key"], hiddenSize, hiddenSize);
        Value = new Linear(w["value"], hiddenSize, hiddenSize);
        if (sequenceReductionRatio > 1)
        {
            int r = sequenceReductionRatio;
            var weight = w["sr"].Get("weight", hiddenSize, hiddenSize, r, r);
            var patchWeight = TokenLayout.PatchMajorWeight(weight);
            weight.Discard();
            Sr = new PackedWeight(patchWeight);
            patchWeight.Discard();
            SrBias = w["sr"].Get("bias", hiddenSize);
            LayerNorm = new LayerNorm(w["layer_norm"], hiddenSize, GLPNConfig.ModuleLayerNormEps);
        }
    }

    /// <summary>Tokens [B, h·w, C] of an h × w map (the caller's, kept) → the attention's context, [B, h·w, C].</summary>
    public Tensor Forward(Tensor hiddenStates, int height, int width)
    {
        var queryLayer = Query.Forward(hiddenStates);
        var keyValueSource = hiddenStates;
        if (Sr is not null)
        {
            var patches = TokenLayout.Patches(hiddenStates, height, width, _ratio);
            var reduced = Lifetimes.Replace(patches, Ops.Linear(patches, Sr, SrBias));
            keyValueSource = Lifetimes.Replace(reduced, LayerNorm!.Forward(reduced));
        }
        var keyLayer = Key.Forward(keyValueSource);
        var valueLayer = Value.Forward(keyValueSource);
        if (!ReferenceEquals(keyValueSource, hiddenStates)) keyValueSource.Release();
        // softmax(q·kᵀ / √d)·v per head, the heads interleaved in the last dimension as the reference's view lays them out.
        var contextLayer = Ops.Attention(queryLayer, keyLayer, valueLayer, _heads, _scale);
        queryLayer.Release();
        keyLayer.Release();
        valueLayer.Release();
        return contextLayer;
    }
}

/// <summary>The attention's output projection (its residual is added by the layer).</summary>
internal sealed class GLPNSelfOutput(Weights w, int hiddenSize)
{
    /// <summary>attention.output.dense.</summary>
    public Linear Dense { get; } = new(w["dense"], hiddenSize, hiddenSize);

    /// <summary>The context (the caller's, kept) projected.</summary>
    public Tensor Forward(Tensor hiddenStates) => Dense.Forward(hiddenStates);
}

/// <summary>Efficient self-attention and its output projection.</summary>
internal sealed class GLPNAttention(Weights w, int hiddenSize, int numAttentionHeads, int sequenceReductionRatio)
{
    /// <summary>attention.self.</summary>
    public GLPNEfficientSelfAttention Self { get; } = new(w["self"], hiddenSize, numAttentionHeads, sequenceReductionRatio);
    /// <summary>attention.output.</summary>
    public GLPNSelfOutput Output { get; } = new(w["output"], hiddenSize);

    /// <summary>Tokens (the caller's, kept) → the projected attention output.</summary>
    public Tensor Forward(Tensor hiddenStates, int height, int width)
    {
        var selfOutput = Self.Forward(hiddenStates, height, width);
        return Lifetimes.Replace(selfOutput, Output.Forward(selfOutput));
    }
}

/// <summary>The Mix-FFN's 3×3 depthwise convolution (groups = channels, padding 1) over the tokens' h × w map.</summary>
internal sealed class GLPNDWConv(Weights w, int dim)
{
    /// <summary>dwconv.weight, [C, 1, 3, 3].</summary>
    public Tensor Weight { get; } = w["dwconv"].Get("weight", dim, 1, 3, 3);
    /// <summary>dwconv.bias.</summary>
    public Tensor Bias { get; } = w["dwconv"].Get("bias", dim);

    /// <summary>Tokens [B, h·w, C] (the caller's, kept) → tokens [B, h·w, C].</summary>
    public Tensor Forward(Tensor hiddenStates, int height, int width)
    {
        int batch = hiddenStates.Dim(0), channels = hiddenStates.Dim(2);
        if (hiddenStates.Dim(1) != height * width) throw new ArgumentException($"{hiddenStates.Dim(1)} tokens do not form a {height}x{width} map");
        // The reference transposes the tokens to channels first for its convolution and back; the channels-last kernel
        // convolves them where they lie, [B, h, w, C].
        var map = Ops.GroupedConv2d(hiddenStates.Reshape(batch, height, width, channels), Weight, Bias, groups: channels,
            stride: 1, padding: 1, channelsLast: true);
        return map.Reshape(batch, height * width, channels);
    }
}

/// <summary>dense1 → depthwise 3×3 convolution → activation → dense2.</summary>
internal sealed class GLPNMixFFN(Weights w, HiddenAct activation, int inFeatures, int hiddenFeatures)
{
    /// <summary>C → the Mix-FFN's width.</summary>
    public Linear Dense1 { get; } = new(w["dense1"], inFeatures, hiddenFeatures);
    /// <summary>The depthwise convolution at the Mix-FFN's width.</summary>
    public GLPNDWConv Dwconv { get; } = new(w["dwconv"], hiddenFeatures);
    /// <summary>The Mix-FFN's width → C.</summary>
    public Linear Dense2 { get; } = new(w["dense2"], hiddenFeatures, inFeatures);

    /// <summary>Tokens (the caller's, kept) → tokens.</summary>
    public Tensor Forward(Tensor hiddenStates, int height, int width)
    {
        var hidden = Dense1.Forward(hiddenStates);
        hidden = Lifetimes.Replace(hidden, Dwconv.Forward(hidden, height, width));
        hidden = Activation.ApplyInPlace(activation, hidden);
        return Lifetimes.Replace(hidden, Dense2.Forward(hidden));
    }
}

/// <summary>A pre-norm transformer layer: efficient self-attention and Mix-FFN, each added back to its input.</summary>
internal sealed class GLPNLayer
{
    private readonly string _path;
    /// <summary>Before attention (eps 1e-5).</summary>
    public LayerNorm LayerNorm1 { get; }
    /// <summary>Efficient self-attention.</summary>
    public GLPNAttention Attention { get; }
    /// <summary>Before the Mix-FFN (eps 1e-5).</summary>
    public LayerNorm LayerNorm2 { get; }
    /// <summary>The Mix-FFN.</summary>
    public GLPNMixFFN Mlp { get; }

    /// <summary>Layer weights under <paramref name="w"/>, sized for encoder stage <paramref name="stage"/>.</summary>
    public GLPNLayer(Weights w, GLPNConfig c, int stage)
    {
        _path = w.Prefix;
        int hidden = c.HiddenSizes[stage];
        LayerNorm1 = new LayerNorm(w["layer_norm_1"], hidden, GLPNConfig.ModuleLayerNormEps);
        Attention = new GLPNAttention(w["attention"], hidden, c.NumAttentionHeads[stage], c.SrRatios[stage]);
        LayerNorm2 = new LayerNorm(w["layer_norm_2"], hidden, GLPNConfig.ModuleLayerNormEps);
        Mlp = new GLPNMixFFN(w["mlp"], c.HiddenAct, hidden, c.MlpHiddenSize(stage));
    }

    /// <summary>Tokens [B, h·w, C] (the caller's, kept) → the layer's output tokens.</summary>
    public Tensor Forward(Tensor hiddenStates, int height, int width)
    {
        var normed = LayerNorm1.Forward(hiddenStates);
        var attentionOutput = Lifetimes.Replace(normed, Attention.Forward(normed, height, width));
        Ops.AddInPlace(attentionOutput, hiddenStates);
        hiddenStates = attentionOutput;
        normed = LayerNorm2.Forward(hiddenStates);
        var layerOutput = Lifetimes.Replace(normed, Mlp.Forward(normed, height, width));
        Ops.AddInPlace(layerOutput, hiddenStates);
        hiddenStates.Release(); // the attention block's sum, made here
        ActivationTrace.Record($"{_path}.0", layerOutput);
        return layerOutput;
    }
}

/// <summary>The hierarchical Mix Transformer: per stage, patch embeddings, layers and a layer norm, the tokens then laid out as a map.</summary>
internal sealed class GLPNEncoder
{
    private readonly string _path;
    /// <summary>Per stage, its embedding.</summary>
    public GLPNOverlapPatchEmbeddings[] PatchEmbeddings { get; }
    /// <summary>Per stage, its layers.</summary>
    public GLPNLayer[][] Block { get; }
    /// <summary>Per stage, the norm after its layers (eps 1e-5).</summary>
    public LayerNorm[] LayerNorm { get; }

    /// <summary>Reads the encoder's weights under <paramref name="w"/>.</summary>
    public GLPNEncoder(Weights w, GLPNConfig c)
    {
        _path = w.Prefix;
        int n = c.NumEncoderBlocks;
        PatchEmbeddings = Enumerable.Range(0, n).Select(i => new GLPNOverlapPatchEmbeddings(w["patch_embeddings"][i],
            c.PatchSizes[i], c.Strides[i], i == 0 ? c.NumChannels : c.HiddenSizes[i - 1], c.HiddenSizes[i])).ToArray();
        Block = Enumerable.Range(0, n)
            .Select(i => Enumerable.Range(0, c.Depths[i]).Select(j => new GLPNLayer(w["block"][i][j], c, i)).ToArray()).ToArray();
        LayerNorm = Enumerable.Range(0, n).Select(i => new LayerNorm(w["layer_norm"][i], c.HiddenSizes[i], GLPNConfig.ModuleLayerNormEps)).ToArray();
    }

    /// <summary>Pixel values [B, C, H, W] (the caller's, kept) → every stage's map [B, hidden_i, h_i, w_i] (the hidden states).</summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext context)
    {
        var hiddenStates = new Tensor[PatchEmbeddings.Length];
        var stageInput = pixelValues;
        for (int i = 0; i < PatchEmbeddings.Length; i++)
        {
            var (hidden, height, width) = PatchEmbeddings[i].Forward(stageInput);
            foreach (var layer in Block[i])
            {
                hidden = Lifetimes.Replace(hidden, layer.Forward(hidden, height, width));
                context.Step("encoder");
            }
            hidden = Lifetimes.Replace(hidden, LayerNorm[i].Forward(hidden));
            ActivationTrace.Record($"{_path}.layer_norm.{i}", hidden);
            hiddenStates[i] = Lifetimes.Replace(hidden, TokenLayout.TokensToMap(hidden, height, width));
            stageInput = hiddenStates[i];
        }
        return hiddenStates;
    }
}

/// <summary>GLPNModel: the encoder, returning every stage's map for the decoder.</summary>
internal sealed class GLPNModel(Weights w, GLPNConfig c)
{
    /// <summary>glpn.encoder.</summary>
    public GLPNEncoder Encoder { get; } = new(w["encoder"], c);

    /// <summary>Every stage's map (see <see cref="GLPNEncoder.Forward"/>).</summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext context) => Encoder.Forward(pixelValues, context);
}

/// <summary>Between the encoder's token sequences [B, h·w, C] and the maps [B, C, h, w] its convolutions read.</summary>
internal static class TokenLayout
{
    /// <summary>[B, h·w, C] → a new [B, C, h, w].</summary>
    public static Tensor TokensToMap(Tensor tokens, int height, int width)
    {
        int batch = tokens.Dim(0), channels = tokens.Dim(2);
        if (tokens.Dim(1) != height * width) throw new ArgumentException($"{tokens.Dim(1)} tokens do not form a {height}x{width} map");
        return Ops.Permute(tokens.Reshape(batch, height, width, channels), 0, 3, 1, 2);
    }

    /// <summary>[B, C, h, w] → a new [B, h·w, C].</summary>
    public static Tensor MapToTokens(Tensor map)
    {
        int batch = map.Dim(0), channels = map.Dim(1);
        return Ops.Permute(map.Reshape(batch, channels, map.Dim(2) * map.Dim(3)), 0, 2, 1);
    }

    /// <summary>
    /// The tokens [B, h·w, C] of an h × w map cut into r × r patches, as a convolution of kernel and stride r reads
    /// them (trailing rows and columns that fill no patch are left out): a new [B, (h/r)·(w/r), r·r·C], each patch's
    /// tokens row by row.
    /// </summary>
    public static Tensor Patches(Tensor tokens, int height, int width, int r)
    {
        int batch = tokens.Dim(0), channels = tokens.Dim(2), rows = height / r, cols = width / r;
        if (tokens.Dim(1) != height * width) throw new ArgumentException($"{tokens.Dim(1)} tokens do not form a {height}x{width} map");
        var map = tokens.Reshape(batch, height, width, channels);
        bool crop = rows * r != height || cols * r != width;
        if (crop)
        {
            var rowsKept = Ops.Narrow(map, 1, 0, rows * r);
            map = Lifetimes.Replace(rowsKept, Ops.Narrow(rowsKept, 2, 0, cols * r));
        }
        var patches = Ops.Permute(map.Reshape(batch, rows, r, cols, r, channels), 0, 1, 3, 2, 4, 5);
        if (crop) map.Release();
        return patches.Reshape(batch, rows * cols, r * r * channels);
    }

    /// <summary>A convolution weight [O, C, r, r] as the [O, r·r·C] linear weight over <see cref="Patches"/>.</summary>
    public static Tensor PatchMajorWeight(Tensor weight)
    {
        int outChannels = weight.Dim(0);
        return Ops.Permute(weight, 0, 2, 3, 1).Reshape(outChannels, -1);
    }
}
