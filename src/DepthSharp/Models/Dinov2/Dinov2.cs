using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

internal sealed class Dinov2PatchEmbeddings(Weights w, Dinov2Config c)
{
    public Conv2d Projection { get; } = new(w["projection"], c.NumChannels, c.HiddenSize, c.PatchSize, c.PatchSize);

    /// <summary>[B,C,H,W] → [B, (H/p)·(W/p), hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        if (pixelValues.Dim(1) != c.NumChannels)
            throw new ArgumentException($"pixel values have {pixelValues.Dim(1)} channels, the model takes {c.NumChannels}");
        var x = Projection.Forward(pixelValues);
        int b = x.Dim(0), hid = x.Dim(1), n = x.Dim(2) * x.Dim(3);
        return Ops.Permute(x.Reshape(b, hid, n), 0, 2, 1);
    }
}

internal sealed class Dinov2Embeddings
{
    private readonly Dinov2Config _c;
    private readonly string _path;
    public Tensor ClsToken { get; }
    public Tensor? MaskToken { get; }
    public Dinov2PatchEmbeddings PatchEmbeddings { get; }
    public Tensor PositionEmbeddings { get; }

    public Dinov2Embeddings(Weights w, Dinov2Config c)
    {
        _c = c;
        _path = w.Prefix;
        ClsToken = w.Get("cls_token", 1, 1, c.HiddenSize);
        // The mask token serves pre-training only, but it is a parameter of the reference model and so of its checkpoints.
        MaskToken = c.UseMaskToken ? w.Get("mask_token", 1, c.HiddenSize) : null;
        PatchEmbeddings = new Dinov2PatchEmbeddings(w["patch_embeddings"], c);
        int grid = c.ImageSize / c.PatchSize;
        PositionEmbeddings = w.Get("position_embeddings", 1, grid * grid + 1, c.HiddenSize);
    }

    /// <summary>Position embeddings for an input of height × width pixels, bicubically resized when the patch grid differs.</summary>
    private Tensor InterpolatePositions(int numPatches, int height, int width)
    {
        int numPositions = PositionEmbeddings.Dim(1) - 1;
        if (numPatches == numPositions && height == width) return PositionEmbeddings;
        int dim = _c.HiddenSize;
        int side = (int)Math.Sqrt(numPositions);
        var cls = Ops.Narrow(PositionEmbeddings, 1, 0, 1);
        var grid = Ops.Narrow(PositionEmbeddings, 1, 1, numPositions).Reshape(1, side, side, dim);
        grid = Ops.Permute(grid, 0, 3, 1, 2);
        grid = Ops.Interpolate(grid, height / _c.PatchSize, width / _c.PatchSize, InterpolationMode.Bicubic, alignCorners: false);
        grid = Ops.Permute(grid, 0, 2, 3, 1).Reshape(1, -1, dim);
        return Ops.Concat(1, cls, grid);
    }

    public Tensor Forward(Tensor pixelValues)
    {
        int batch = pixelValues.Dim(0), height = pixelValues.Dim(2), width = pixelValues.Dim(3);
        var patches = PatchEmbeddings.Forward(pixelValues);
        int n = patches.Dim(1), dim = _c.HiddenSize;
        var pos = InterpolatePositions(n, height, width);
        // [cls, patches...] + position embeddings, for each batch element.
        var embeddings = Tensor.Empty(batch, n + 1, dim);
        for (int b = 0; b < batch; b++)
        {
            var dst = embeddings.Data.AsSpan(b * (n + 1) * dim, (n + 1) * dim);
            System.Numerics.Tensors.TensorPrimitives.Add(ClsToken.Data, pos.Data.AsSpan(0, dim), dst[..dim]);
            System.Numerics.Tensors.TensorPrimitives.Add(patches.Data.AsSpan(b * n * dim, n * dim), pos.Data.AsSpan(dim, n * dim), dst[dim..]);
        }
        ActivationTrace.Record(_path, embeddings);
        return embeddings;
    }
}

internal sealed class Dinov2SelfAttention(Weights w, Dinov2Config c)
{
    public Linear Query { get; } = new(w["query"], c.HiddenSize, c.HiddenSize, c.QkvBias);
    public Linear Key { get; } = new(w["key"], c.HiddenSize, c.HiddenSize, c.QkvBias);
    public Linear Value { get; } = new(w["value"], c.HiddenSize, c.HiddenSize, c.QkvBias);

    public Tensor Forward(Tensor hiddenStates)
    {
        int headSize = c.HiddenSize / c.NumAttentionHeads;
        var key = Key.Forward(hiddenStates);
        var value = Value.Forward(hiddenStates);
        var query = Query.Forward(hiddenStates);
        var context = Ops.Attention(query, key, value, c.NumAttentionHeads, (float)Math.Pow(headSize, -0.5));
        key.Release();
        value.Release();
        query.Release();
        return context;
    }
}

internal sealed class Dinov2Attention(Weights w, Dinov2Config c)
{
    public Dinov2SelfAttention Attention { get; } = new(w["attention"], c);
    public Linear OutputDense { get; } = new(w["output"]["dense"], c.HiddenSize, c.HiddenSize);

    public Tensor Forward(Tensor hiddenStates)
    {
        var context = Attention.Forward(hiddenStates);
        var output = OutputDense.Forward(context);
        context.Release();
        return output;
    }
}

internal sealed class Dinov2LayerScale(Weights w, Dinov2Config c)
{
    public Tensor Lambda1 { get; } = w.Get("lambda1", c.HiddenSize);
    /// <summary>x · lambda1 + residual over x's own storage (the scale and the skip connection after it).</summary>
    public Tensor ScaleAndAdd(Tensor x, Tensor residual) => Ops.ScaleLastDimAddInPlace(x, Lambda1, residual);
}

internal sealed class Dinov2Mlp(Weights w, Dinov2Config c)
{
    public Linear Fc1 { get; } = new(w["fc1"], c.HiddenSize, c.MlpHiddenSize);
    public Linear Fc2 { get; } = new(w["fc2"], c.MlpHiddenSize, c.HiddenSize);

    public Tensor Forward(Tensor x)
    {
        var hidden = Activation.ApplyInPlace(c.HiddenAct, Fc1.Forward(x));
        var output = Fc2.Forward(hidden);
        hidden.Release();
        return output;
    }
}

internal sealed class Dinov2SwiGluFfn(Weights w, Dinov2Config c)
{
    public Linear WeightsIn { get; } = new(w["weights_in"], c.HiddenSize, 2 * c.SwigluHiddenSize);
    public Linear WeightsOut { get; } = new(w["weights_out"], c.SwigluHiddenSize, c.HiddenSize);

    public Tensor Forward(Tensor x)
    {
        var h = WeightsIn.Forward(x);
        int half = c.SwigluHiddenSize;
        var x1 = Ops.Narrow(h, -1, 0, half);
        var x2 = Ops.Narrow(h, -1, half, half);
        return WeightsOut.Forward(Ops.Mul(Ops.SiluInPlace(x1), x2));
    }
}

internal sealed class Dinov2Layer
{
    private readonly string _path;
    public LayerNorm Norm1 { get; }
    public Dinov2Attention Attention { get; }
    public Dinov2LayerScale LayerScale1 { get; }
    public LayerNorm Norm2 { get; }
    public Func<Tensor, Tensor> Mlp { get; }
    public Dinov2LayerScale LayerScale2 { get; }

    public Dinov2Layer(Weights w, Dinov2Config c)
    {
        _path = w.Prefix;
        Norm1 = new LayerNorm(w["norm1"], c.HiddenSize, c.LayerNormEps);
        Attention = new Dinov2Attention(w["attention"], c);
        LayerScale1 = new Dinov2LayerScale(w["layer_scale1"], c);
        Norm2 = new LayerNorm(w["norm2"], c.HiddenSize, c.LayerNormEps);
        Mlp = c.UseSwigluFfn ? new Dinov2SwiGluFfn(w["mlp"], c).Forward : new Dinov2Mlp(w["mlp"], c).Forward;
        LayerScale2 = new Dinov2LayerScale(w["layer_scale2"], c);
    }

    public Tensor Forward(Tensor hiddenStates)
    {
        var normed = Norm1.Forward(hiddenStates);
        var attention = Attention.Forward(normed);
        normed.Release();
        hiddenStates = LayerScale1.ScaleAndAdd(attention, hiddenStates);
        normed = Norm2.Forward(hiddenStates);
        var layerOutput = Mlp(normed);
        normed.Release();
        LayerScale2.ScaleAndAdd(layerOutput, hiddenStates);
        hiddenStates.Release(); // the attention block's sum, made here
        ActivationTrace.Record(_path, layerOutput);
        return layerOutput;
    }
}

/// <summary>Dinov2Model's outputs: the final-normed sequence and, on request, the hidden states (index 0 = embeddings, i = after layer i-1).</summary>
internal sealed record Dinov2Output(Tensor LastHiddenState, IReadOnlyDictionary<int, Tensor> HiddenStates);

internal sealed class Dinov2Model
{
    private readonly string _path;
    public Dinov2Config Config { get; }
    public Dinov2Embeddings Embeddings { get; }
    public Dinov2Layer[] Layers { get; }
    public LayerNorm Layernorm { get; }

    public Dinov2Model(Weights w, Dinov2Config c)
    {
        _path = w.Prefix;
        Config = c;
        Embeddings = new Dinov2Embeddings(w["embeddings"], c);
        Layers = new Dinov2Layer[c.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = new Dinov2Layer(w["encoder"]["layer"][i], c);
        Layernorm = new LayerNorm(w["layernorm"], c.HiddenSize, c.LayerNormEps);
    }

    /// <param name="pixelValues">[B, 3, H, W] normalised pixels.</param>
    /// <param name="keepHiddenStates">Indices of hidden states to return (only these are kept alive).</param>
    /// <param name="context">Progress and cancellation of the whole forward pass; null: none.</param>
    /// <param name="stage">The progress stage name reported per layer.</param>
    public Dinov2Output Forward(Tensor pixelValues, IReadOnlyCollection<int>? keepHiddenStates = null, ForwardContext? context = null, string stage = "encoder")
    {
        var (hidden, kept) = Encode(pixelValues, keepHiddenStates, context, stage);
        var last = Layernorm.Forward(hidden);
        if (!kept.ContainsKey(Layers.Length)) hidden.Release();
        ActivationTrace.Record($"{_path}.0", last);
        // The pooler output (the class token) is only traced, never used by the depth models.
        if (ActivationTrace.Enabled) ActivationTrace.Record($"{_path}.1", Ops.Narrow(last, 1, 0, 1).Reshape(last.Dim(0), last.Dim(2)));
        return new Dinov2Output(last, kept);
    }

    /// <summary>Embeddings and encoder layers without the final norm: the last layer's output and the requested hidden states.</summary>
    internal (Tensor Last, Dictionary<int, Tensor> Kept) Encode(Tensor pixelValues, IReadOnlyCollection<int>? keepHiddenStates, ForwardContext? context, string stage)
    {
        var kept = new Dictionary<int, Tensor>();
        var hidden = Embeddings.Forward(pixelValues);
        if (keepHiddenStates?.Contains(0) == true) kept[0] = hidden;
        for (int i = 0; i < Layers.Length; i++)
        {
            var next = Layers[i].Forward(hidden);
            if (!kept.ContainsKey(i)) hidden.Release(); // hidden state i is dead unless the caller keeps it
            hidden = next;
            context?.Step(stage);
            if (keepHiddenStates?.Contains(i + 1) == true) kept[i + 1] = hidden;
        }
        return (hidden, kept);
    }
}

/// <summary>
/// transformers' Dinov2Backbone: Dinov2Model's parameters under the same names, returning the hidden states of the
/// configured stages (out_indices / out_features), each layer-normed when apply_layernorm and turned into a
/// [B, hidden, H/p, W/p] map when reshape_hidden_states.
/// </summary>
internal sealed class Dinov2Backbone
{
    private readonly string _path;
    public Dinov2Config Config { get; }
    public Dinov2Model Model { get; }
    public int[] OutIndices { get; }

    public Dinov2Backbone(Weights w, Dinov2Config c)
    {
        _path = w.Prefix;
        Config = c;
        Model = new Dinov2Model(w, c);
        OutIndices = c.OutStageIndices;
    }

    /// <summary>
    /// One feature map per out stage, in stage order: [B, 1 + N, hidden], or [B, hidden, h, w] when reshaped. Each map
    /// is a tensor of its own (the caller may release it) unless the stages are neither normed nor reshaped, when a
    /// stage listed twice gives the same tensor twice. Map i is recorded under <c>{backbone}.0.{i}</c>, the reference
    /// backbone's feature_maps.
    /// </summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext? context = null, string stage = "backbone")
    {
        var (last, kept) = Model.Encode(pixelValues, OutIndices, context, stage);
        if (!kept.ContainsValue(last)) last.Release();
        var maps = new Tensor[OutIndices.Length];
        for (int i = 0; i < maps.Length; i++)
        {
            var h = kept[OutIndices[i]];
            if (Config.ApplyLayernorm) h = Model.Layernorm.Forward(h);
            if (Config.ReshapeHiddenStates)
            {
                int b = h.Dim(0), n = h.Dim(1) - 1, dim = h.Dim(2);
                var tokens = Ops.Narrow(h, 1, 1, n);
                var grid = tokens.Reshape(b, pixelValues.Dim(2) / Config.PatchSize, pixelValues.Dim(3) / Config.PatchSize, dim);
                if (Config.ApplyLayernorm) h.Release();
                h = Lifetimes.Replace(tokens, Ops.Permute(grid, 0, 3, 1, 2));
            }
            maps[i] = h;
            ActivationTrace.Record($"{_path}.0.{i}", h);
        }
        // The stages' own tensors are dead once every map is a new tensor made from them.
        if (Config.ApplyLayernorm || Config.ReshapeHiddenStates)
            foreach (var stageOutput in kept.Values) stageOutput.Release();
        return maps;
    }
}
