using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

internal sealed class BeitPatchEmbeddings(Weights w, BeitConfig c)
{
    public Conv2d Projection { get; } = new(w["projection"], c.NumChannels, c.HiddenSize, c.PatchSize, c.PatchSize);

    /// <summary>[B,C,H,W] → [B, (H/p)·(W/p), hidden]; the patch grid is (H/p, W/p), rounded down.</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        if (pixelValues.Rank != 4 || pixelValues.Dim(1) != c.NumChannels)
            throw new ArgumentException($"pixel values {pixelValues} do not have the model's {c.NumChannels} channels");
        if (pixelValues.Dim(2) < c.PatchSize || pixelValues.Dim(3) < c.PatchSize)
            throw new ArgumentException($"pixel values {pixelValues} are smaller than one {c.PatchSize}-pixel patch");
        var x = Projection.Forward(pixelValues);
        int b = x.Dim(0), hid = x.Dim(1), n = x.Dim(2) * x.Dim(3);
        return Ops.Permute(x.Reshape(b, hid, n), 0, 2, 1);
    }
}

internal sealed class BeitEmbeddings
{
    private readonly BeitConfig _c;
    private readonly string _path;
    public Tensor ClsToken { get; }
    public Tensor? MaskToken { get; }
    public BeitPatchEmbeddings PatchEmbeddings { get; }
    public Tensor? PositionEmbeddings { get; }

    public BeitEmbeddings(Weights w, BeitConfig c)
    {
        _c = c;
        _path = w.Prefix;
        ClsToken = w.Get("cls_token", 1, 1, c.HiddenSize);
        // Pre-training only, but a parameter of the reference model and so of its checkpoints.
        MaskToken = c.UseMaskToken ? w.Get("mask_token", 1, 1, c.HiddenSize) : null;
        PatchEmbeddings = new BeitPatchEmbeddings(w["patch_embeddings"], c);
        PositionEmbeddings = c.UseAbsolutePositionEmbeddings ? w.Get("position_embeddings", 1, c.Grid * c.Grid + 1, c.HiddenSize) : null;
    }

    /// <summary>Absolute position embeddings for an input of height × width pixels, bicubically resized when the grid differs.</summary>
    private Tensor InterpolatePositions(Tensor table, int numPatches, int height, int width)
    {
        int numPositions = table.Dim(1) - 1;
        if (numPatches == numPositions && height == width) return table;
        int dim = _c.HiddenSize, side = _c.Grid;
        var cls = Ops.Narrow(table, 1, 0, 1);
        var grid = Ops.Permute(Ops.Narrow(table, 1, 1, numPositions).Reshape(1, side, side, dim), 0, 3, 1, 2);
        grid = Ops.Interpolate(grid, height / _c.PatchSize, width / _c.PatchSize, InterpolationMode.Bicubic, alignCorners: false);
        return Ops.Concat(1, cls, Ops.Permute(grid, 0, 2, 3, 1).Reshape(1, -1, dim));
    }

    /// <summary>[cls, patches...] (+ absolute positions): [B, 1 + (H/p)·(W/p), hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        int batch = pixelValues.Dim(0), height = pixelValues.Dim(2), width = pixelValues.Dim(3);
        var patches = PatchEmbeddings.Forward(pixelValues);
        int n = patches.Dim(1), dim = _c.HiddenSize;
        var embeddings = Tensor.Empty(batch, n + 1, dim);
        for (int b = 0; b < batch; b++)
        {
            var dst = embeddings.Data.AsSpan(b * (n + 1) * dim, (n + 1) * dim);
            ClsToken.Data.CopyTo(dst[..dim]);
            patches.Data.AsSpan(b * n * dim, n * dim).CopyTo(dst[dim..]);
        }
        if (PositionEmbeddings is not null)
        {
            var pos = InterpolatePositions(PositionEmbeddings, n, height, width);
            for (int b = 0; b < batch; b++)
            {
                var dst = embeddings.Data.AsSpan(b * (n + 1) * dim, (n + 1) * dim);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, pos.Data, dst);
            }
        }
        ActivationTrace.Record($"{_path}.0", embeddings);
        return embeddings;
    }
}

/// <summary>
/// A learned bias per (relative offset, head) for attention between tokens of a patch window, plus three entries for
/// class-token pairs. The table is made for the config's window; other windows bilinearly resize it (MiDaS v3.1's rule).
/// </summary>
internal sealed class BeitRelativePositionBias
{
    private readonly BeitConfig _c;
    public Tensor Table { get; }

    public BeitRelativePositionBias(Weights w, BeitConfig c)
    {
        _c = c;
        int side = 2 * c.Grid - 1;
        Table = w.Get("relative_position_bias_table", side * side + 3, c.NumAttentionHeads);
    }

    /// <summary>The offset table for a window of (height × width) patches: [(2h-1)·(2w-1) + 3, heads].</summary>
    private Tensor TableFor(int height, int width)
    {
        int heads = _c.NumAttentionHeads;
        int oldSide = 2 * _c.Grid - 1, newH = 2 * height - 1, newW = 2 * width - 1;
        int oldCount = oldSide * oldSide, newCount = newH * newW;
        // The reference resizes even at the same size (an exact copy then); the three class-token rows stay as they are.
        var grid = Ops.Permute(Ops.Narrow(Table, 0, 0, oldCount), 1, 0).Reshape(1, heads, oldSide, oldSide);
        grid = Ops.Interpolate(grid, newH, newW, InterpolationMode.Bilinear, alignCorners: false);
        var resized = Ops.Permute(grid.Reshape(heads, newCount), 1, 0);
        return Ops.Concat(0, resized, Ops.Narrow(Table, 0, oldCount, 3));
    }

    /// <summary>The table for a window, one row per head: [heads, (2h-1)·(2w-1) + 3], indexed by <see cref="KeyMajorIndex"/>.</summary>
    public Tensor Forward(PatchWindow window) => Ops.Permute(TableFor(window.Height, window.Width), 1, 0);

    /// <summary>
    /// Which table entry biases each (query i, key j) pair of a window's tokens (index 0 is the class token), stored
    /// key-major: [j·tokens + i]. Patch pairs use their offset (dy, dx) shifted to be non-negative; the class token's
    /// pairs use the table's last three entries (patch → class, class → patch, class → class).
    /// </summary>
    public static int[] KeyMajorIndex(PatchWindow window)
    {
        int height = window.Height, width = window.Width, tokens = window.Tokens;
        int rowWidth = 2 * width - 1, entries = (2 * height - 1) * rowWidth + 3;
        var index = new int[(long)tokens * tokens];
        index[0] = entries - 1;
        // Key = class token: every patch query reads entry entries-2.
        index.AsSpan(1, tokens - 1).Fill(entries - 2);
        for (int kp = 0; kp < height * width; kp++)
        {
            int yj = kp / width, xj = kp % width;
            var line = index.AsSpan((kp + 1) * tokens, tokens);
            line[0] = entries - 3; // query = class token
            for (int qp = 0; qp < height * width; qp++)
                line[qp + 1] = (qp / width - yj + height - 1) * rowWidth + qp % width - xj + width - 1;
        }
        return index;
    }
}

/// <summary>An input's patch grid: height × width patches, plus the class token.</summary>
internal readonly record struct PatchWindow(int Height, int Width)
{
    public int Tokens => Height * Width + 1;
}

internal sealed class BeitSelfAttention
{
    private readonly BeitConfig _c;
    public Linear Query { get; }
    public Linear Key { get; }
    public Linear Value { get; }
    public BeitRelativePositionBias? RelativePositionBias { get; }

    public BeitSelfAttention(Weights w, BeitConfig c)
    {
        _c = c;
        Query = new Linear(w["query"], c.HiddenSize, c.HiddenSize);
        Key = new Linear(w["key"], c.HiddenSize, c.HiddenSize, bias: false);
        Value = new Linear(w["value"], c.HiddenSize, c.HiddenSize);
        RelativePositionBias = c.UseRelativePositionBias ? new BeitRelativePositionBias(w["relative_position_bias"], c) : null;
    }

    /// <param name="hiddenStates">[B, N, hidden] tokens, [CLS] first.</param>
    /// <param name="window">The patch grid the tokens come from.</param>
    /// <param name="sharedTable">The encoder-wide bias table when the config shares one, added to this layer's own.</param>
    /// <param name="biasIndex">The window's <see cref="BeitRelativePositionBias.KeyMajorIndex"/>, one for every layer.</param>
    public Tensor Forward(Tensor hiddenStates, PatchWindow window, Tensor? sharedTable, int[]? biasIndex)
    {
        int headSize = _c.HiddenSize / _c.NumAttentionHeads;
        var query = Query.Forward(hiddenStates);
        var key = Key.Forward(hiddenStates);
        var value = Value.Forward(hiddenStates);
        // Both biases index their tables alike, so adding the tables adds the biases.
        var table = RelativePositionBias?.Forward(window);
        if (table is not null && sharedTable is not null) Ops.AddInPlace(table, sharedTable);
        table ??= sharedTable;
        float scale = (float)(1.0 / Math.Sqrt(headSize));
        var context = table is null
            ? Ops.Attention(query, key, value, _c.NumAttentionHeads, scale)
            : Ops.Attention(query, key, value, _c.NumAttentionHeads, scale, table, biasIndex
                ?? throw new ArgumentException("a relative position bias needs the window's index", nameof(biasIndex)));
        query.Release();
        key.Release();
        value.Release();
        return context;
    }
}

internal sealed class BeitLayer
{
    private readonly BeitConfig _c;
    private readonly string _path;
    public LayerNorm LayernormBefore { get; }
    public BeitSelfAttention Attention { get; }
    public Linear AttentionOutput { get; }
    public Tensor? Lambda1 { get; }
    public LayerNorm LayernormAfter { get; }
    public Linear Intermediate { get; }
    public Linear Output { get; }
    public Tensor? Lambda2 { get; }

    public BeitLayer(Weights w, BeitConfig c)
    {
        _c = c;
        _path = w.Prefix;
        LayernormBefore = new LayerNorm(w["layernorm_before"], c.HiddenSize, c.LayerNormEps);
        Attention = new BeitSelfAttention(w["attention"]["attention"], c);
        AttentionOutput = new Linear(w["attention"]["output"]["dense"], c.HiddenSize, c.HiddenSize);
        LayernormAfter = new LayerNorm(w["layernorm_after"], c.HiddenSize, c.LayerNormEps);
        Intermediate = new Linear(w["intermediate"]["dense"], c.HiddenSize, c.IntermediateSize);
        Output = new Linear(w["output"]["dense"], c.IntermediateSize, c.HiddenSize);
        // Layer scale exists only with a positive initial value, as in the reference.
        if (c.LayerScaleInitValue > 0)
        {
            Lambda1 = w.Get("lambda_1", c.HiddenSize);
            Lambda2 = w.Get("lambda_2", c.HiddenSize);
        }
    }

    public Tensor Forward(Tensor hiddenStates, PatchWindow window, Tensor? sharedTable, int[]? biasIndex)
    {
        var normed = LayernormBefore.Forward(hiddenStates);
        var context = Attention.Forward(normed, window, sharedTable, biasIndex);
        normed.Release();
        var attention = Lifetimes.Replace(context, AttentionOutput.Forward(context));
        if (Lambda1 is not null) Ops.ScaleLastDimAddInPlace(attention, Lambda1, hiddenStates);
        else Ops.AddInPlace(attention, hiddenStates);
        hiddenStates = attention;
        normed = LayernormAfter.Forward(hiddenStates);
        var hidden = Lifetimes.Replace(normed, Activation.ApplyInPlace(_c.HiddenAct, Intermediate.Forward(normed)));
        var mlp = Lifetimes.Replace(hidden, Output.Forward(hidden));
        if (Lambda2 is not null) Ops.ScaleLastDimAddInPlace(mlp, Lambda2, hiddenStates);
        else Ops.AddInPlace(mlp, hiddenStates);
        hiddenStates.Release(); // the attention block's sum, made here
        ActivationTrace.Record($"{_path}.0", mlp);
        return mlp;
    }
}

/// <summary>transformers' BeitBackbone: embeddings and encoder; returns the hidden states of the configured stages as token sequences.</summary>
internal sealed class BeitBackbone
{
    private readonly string _path;
    public BeitConfig Config { get; }
    public BeitEmbeddings Embeddings { get; }
    public BeitLayer[] Layers { get; }
    public BeitRelativePositionBias? SharedRelativePositionBias { get; }

    public BeitBackbone(Weights w, BeitConfig c)
    {
        _path = w.Prefix;
        Config = c;
        Embeddings = new BeitEmbeddings(w["embeddings"], c);
        var encoder = w["encoder"];
        SharedRelativePositionBias = c.UseSharedRelativePositionBias ? new BeitRelativePositionBias(encoder["relative_position_bias"], c) : null;
        Layers = new BeitLayer[c.NumHiddenLayers];
        for (int i = 0; i < Layers.Length; i++) Layers[i] = new BeitLayer(encoder["layer"][i], c);
    }

    /// <summary>[B, 1 + h·w, hidden] for each stage of out_features, in order (stage 0 = embeddings, i = after layer i).</summary>
    public List<Tensor> Forward(Tensor pixelValues, ForwardContext context)
    {
        var stages = Config.OutStageIndices;
        var window = new PatchWindow(pixelValues.Dim(2) / Config.PatchSize, pixelValues.Dim(3) / Config.PatchSize);
        var sharedTable = SharedRelativePositionBias?.Forward(window);
        var biasIndex = Config.UseRelativePositionBias || sharedTable is not null ? BeitRelativePositionBias.KeyMajorIndex(window) : null;
        var outputs = new List<Tensor>(stages.Count);
        var hidden = Embeddings.Forward(pixelValues);
        ActivationTrace.Record($"{_path}.1.0", hidden);
        if (stages.Contains(0)) outputs.Add(hidden);
        // Layers past the last requested stage cannot change the outputs.
        int last = stages.Max();
        for (int i = 0; i < last; i++)
        {
            var next = Layers[i].Forward(hidden, window, sharedTable, biasIndex);
            // A hidden state is dead once the next layer has read it, unless it is one of the returned stages.
            if (!stages.Contains(i)) hidden.Release();
            hidden = next;
            context.Step("backbone");
            ActivationTrace.Record($"{_path}.1.{i + 1}", hidden);
            if (stages.Contains(i + 1)) outputs.Add(hidden);
        }
        for (int k = 0; k < outputs.Count; k++) ActivationTrace.Record($"{_path}.0.{k}", outputs[k]);
        return outputs;
    }

    /// <summary>Progress steps of one forward pass (the layers up to the last requested stage).</summary>
    public int ForwardSteps => Config.OutStageIndices.Max();
}
