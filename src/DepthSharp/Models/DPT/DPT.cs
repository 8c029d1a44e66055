using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

internal sealed class DPTViTEmbeddings
{
    private readonly DPTConfig _c;
    private readonly string _path;
    public Tensor ClsToken { get; }
    public Conv2d PatchProjection { get; }
    public Tensor PositionEmbeddings { get; }

    public DPTViTEmbeddings(Weights w, DPTConfig c)
    {
        _c = c;
        _path = w.Prefix;
        ClsToken = w.Get("cls_token", 1, 1, c.HiddenSize);
        PatchProjection = new Conv2d(w["patch_embeddings"]["projection"], c.NumChannels, c.HiddenSize, c.PatchSize, c.PatchSize);
        int grid = c.ImageSize / c.PatchSize;
        PositionEmbeddings = w.Get("position_embeddings", 1, grid * grid + 1, c.HiddenSize);
    }

    /// <summary>The stored grid of position embeddings, bilinearly resized (align_corners false) to gridH × gridW.</summary>
    private Tensor ResizePositions(int gridH, int gridW)
    {
        int n = PositionEmbeddings.Dim(1) - 1, dim = _c.HiddenSize;
        int side = (int)Math.Sqrt(n);
        // The same size is an exact copy in the reference's resize, so skip it.
        if (side * side == n && side == gridH && side == gridW) return PositionEmbeddings;
        var grid = Ops.Permute(Ops.Narrow(PositionEmbeddings, 1, 1, n).Reshape(1, side, side, dim), 0, 3, 1, 2);
        grid = Ops.Interpolate(grid, gridH, gridW, InterpolationMode.Bilinear, alignCorners: false);
        grid = Ops.Permute(grid, 0, 2, 3, 1).Reshape(1, gridH * gridW, dim);
        return Ops.Concat(1, Ops.Narrow(PositionEmbeddings, 1, 0, 1), grid);
    }

    /// <summary>[B, C, H, W] → [cls, patches...] + positions, [B, 1 + (H/p)(W/p), hidden].</summary>
    public Tensor Forward(Tensor pixelValues)
    {
        if (pixelValues.Dim(1) != _c.NumChannels)
            throw new ArgumentException($"pixel values have {pixelValues.Dim(1)} channels, the model takes {_c.NumChannels}");
        int batch = pixelValues.Dim(0), gridH = pixelValues.Dim(2) / _c.PatchSize, gridW = pixelValues.Dim(3) / _c.PatchSize;
        var patches = PatchProjection.Forward(pixelValues);
        int dim = _c.HiddenSize, n = gridH * gridW;
        var tokens = Ops.Permute(patches.Reshape(batch, dim, n), 0, 2, 1);
        var pos = ResizePositions(gridH, gridW).Data;
        var embeddings = Tensor.Empty(batch, n + 1, dim);
        var e = embeddings.Data;
        for (int b = 0; b < batch; b++)
        {
            int at = b * (n + 1) * dim;
            for (int i = 0; i < dim; i++) e[at + i] = ClsToken.Data[i] + pos[i];
            for (int i = 0; i < n * dim; i++) e[at + dim + i] = tokens.Data[b * n * dim + i] + pos[dim + i];
        }
        ActivationTrace.Record($"{_path}.0", embeddings);
        return embeddings;
    }
}

/// <summary>A pre-norm ViT block: attention and MLP, each added back to its input.</summary>
internal sealed class DPTViTLayer
{
    private readonly DPTConfig _c;
    private readonly string _path;
    public LayerNorm LayernormBefore { get; }
    public Linear Query { get; }
    public Linear Key { get; }
    public Linear Value { get; }
    public Linear AttentionOutput { get; }
    public LayerNorm LayernormAfter { get; }
    public Linear Intermediate { get; }
    public Linear Output { get; }

    public DPTViTLayer(Weights w, DPTConfig c)
    {
        _c = c;
        _path = w.Prefix;
        int d = c.HiddenSize;
        var attention = w["attention"];
        Query = new Linear(attention["attention"]["query"], d, d, c.QkvBias);
        Key = new Linear(attention["attention"]["key"], d, d, c.QkvBias);
        Value = new Linear(attention["attention"]["value"], d, d, c.QkvBias);
        AttentionOutput = new Linear(attention["output"]["dense"], d, d);
        Intermediate = new Linear(w["intermediate"]["dense"], d, c.IntermediateSize);
        Output = new Linear(w["output"]["dense"], c.IntermediateSize, d);
        LayernormBefore = new LayerNorm(w["layernorm_before"], d, c.LayerNormEps);
        LayernormAfter = new LayerNorm(w["layernorm_after"], d, c.LayerNormEps);
    }

    /// <summary>[B, N, hidden] (the caller's, kept) → the next hidden state.</summary>
    public Tensor Forward(Tensor hiddenStates)
    {
        var normed = LayernormBefore.Forward(hiddenStates);
        float scale = (float)Math.Pow(_c.HiddenSize / _c.NumAttentionHeads, -0.5);
        Tensor query = Query.Forward(normed), key = Key.Forward(normed), value = Value.Forward(normed);
        normed.Release();
        var context = Ops.Attention(query, key, value, _c.NumAttentionHeads, scale);
        query.Release();
        key.Release();
        value.Release();
        var attended = Lifetimes.Replace(context, AttentionOutput.Forward(context));
        Ops.AddInPlace(attended, hiddenStates);
        normed = LayernormAfter.Forward(attended);
        var intermediate = Lifetimes.Replace(normed, Activation.ApplyInPlace(_c.HiddenAct, Intermediate.Forward(normed)));
        var output = Lifetimes.Replace(intermediate, Output.Forward(intermediate));
        Ops.AddInPlace(output, attended);
        attended.Release();
        ActivationTrace.Record(_path, output);
        return output;
    }
}

/// <summary>
/// DPTModel without its pooler, as the depth model builds it: embeddings (the ViT's, or DPT-Hybrid's over a BiT
/// backbone), encoder layers and the final norm.
/// </summary>
internal sealed class DPTViTModel
{
    private readonly string _encoderPath;

    /// <summary>The plain ViT's patch embeddings; null under DPT-Hybrid.</summary>
    public DPTViTEmbeddings? Embeddings { get; }
    /// <summary>DPT-Hybrid's embeddings over the BiT backbone; null for the plain ViT.</summary>
    public DPTViTHybridEmbeddings? HybridEmbeddings { get; }
    public DPTViTLayer[] Layers { get; }
    /// <summary>A parameter of the checkpoint; the depth model reads the layers' raw outputs, so it is never applied.</summary>
    public LayerNorm Layernorm { get; }

    public DPTViTModel(Weights w, DPTConfig c)
    {
        if (c.BackboneModel is BitConfig bit)
            HybridEmbeddings = new DPTViTHybridEmbeddings(w["embeddings"], bit, c.HiddenSize, c.ImageSize, c.PatchSize, c.NumChannels, c.BackboneFeatmapShape!);
        else Embeddings = new DPTViTEmbeddings(w["embeddings"], c);
        _encoderPath = w["encoder"].Prefix;
        Layers = Enumerable.Range(0, c.NumHiddenLayers).Select(i => new DPTViTLayer(w["encoder"]["layer"][i], c)).ToArray();
        Layernorm = new LayerNorm(w["layernorm"], c.HiddenSize, c.LayerNormEps);
    }

    /// <summary>Progress steps of the embeddings (the BiT's stages under DPT-Hybrid).</summary>
    public int EmbeddingSteps => HybridEmbeddings?.ForwardSteps ?? 0;

    /// <summary>
    /// The outputs of the given layers (0-based, ascending), [B, 1 + N, hidden] each, and the embeddings' intermediate
    /// activations (DPT-Hybrid's first two BiT feature maps; none for the ViT); later layers are not run.
    /// </summary>
    public (Tensor[] HiddenStates, Tensor[] IntermediateActivations) Forward(Tensor pixelValues, int[] layers, ForwardContext context)
    {
        var outputs = new Tensor[layers.Length];
        Tensor hidden;
        Tensor[] intermediate = [];
        if (HybridEmbeddings is not null) (hidden, intermediate) = HybridEmbeddings.Forward(pixelValues, context);
        else hidden = Embeddings!.Forward(pixelValues);
        ActivationTrace.Record($"{_encoderPath}.1.0", hidden);
        int last = layers.Length == 0 ? -1 : layers[^1];
        for (int i = 0, k = 0; i <= last; i++)
        {
            var next = Layers[i].Forward(hidden);
            // The embeddings and every layer's output die here unless they are one of the outputs.
            if (k == 0 || layers[k - 1] != i - 1) hidden.Release();
            hidden = next;
            context.Step("encoder");
            ActivationTrace.Record($"{_encoderPath}.1.{i + 1}", hidden);
            if (i == Layers.Length - 1) ActivationTrace.Record($"{_encoderPath}.0", hidden);
            if (layers[k] == i) outputs[k++] = hidden;
        }
        if (last < 0) hidden.Release();
        return (outputs, intermediate);
    }
}

internal sealed class DPTNeck
{
    private readonly string _path;

    /// <summary>Null for a Swin V2 backbone, whose feature maps go to the convolutions as they are.</summary>
    public DPTReassembleStage? ReassembleStage { get; }
    public Conv2d[] Convs { get; }
    public DPTFeatureFusionStage FusionStage { get; }

    public DPTNeck(Weights w, DPTConfig c)
    {
        _path = w.Prefix;
        // Only the non-hierarchical backbones (ViT, BEiT, DINOv2) give token sequences to reassemble.
        if (c.BackboneModel is not Swinv2Config)
            ReassembleStage = new DPTReassembleStage(w["reassemble_stage"], c.BackboneHiddenSize, c.NeckHiddenSizes, c.ReassembleFactors,
                c.ReadoutType, c.HiddenAct, c.IsHybrid ? c.NeckIgnoreStages.ToHashSet() : null);
        Convs = c.NeckHiddenSizes.Select((ch, i) => new Conv2d(w["convs"][i], ch, c.FusionHiddenSize, 3, 1, 1, bias: false)).ToArray();
        FusionStage = new DPTFeatureFusionStage(w["fusion_stage"], w.Prefix, Convs.Length, c.FusionHiddenSize,
            ResidualUnitStyle.FromConfig(c.UseBatchNormInFusionResidual, c.UseBiasInFusionResidual), c.HeadInIndex, FusionUpsampling.Double);
    }

    /// <summary>Backbone token sequences or feature maps (released as they are used) → the fused map the head reads.</summary>
    public Tensor Forward(Tensor[] hiddenStates, int gridH, int gridW, ForwardContext context)
    {
        var features = new Tensor[hiddenStates.Length];
        for (int i = 0; i < hiddenStates.Length; i++)
        {
            var map = ReassembleStage is null ? hiddenStates[i] : ReassembleStage.Forward(i, hiddenStates[i], gridH, gridW);
            if (ReassembleStage is not null) ActivationTrace.Record($"{_path}.reassemble_stage.{i}", map);
            var feature = Convs[i].Forward(map);
            if (!ReferenceEquals(map, hiddenStates[i])) map.Release();
            TokenMaps.ReleaseRead(hiddenStates, i);
            features[i] = feature;
        }
        return FusionStage.Forward(features, context);
    }
}

/// <summary>Three convolutions with a ×2 bilinear up-sampling after the first; ReLU keeps the inverse depth non-negative.</summary>
internal sealed class DPTDepthEstimationHead
{
    private readonly string _path;
    public Conv2d? Projection { get; }
    public Conv2d Conv1 { get; }
    public Conv2d Conv2 { get; }
    public Conv2d Conv3 { get; }

    public DPTDepthEstimationHead(Weights w, DPTConfig c)
    {
        _path = w.Prefix;
        int f = c.FusionHiddenSize;
        if (c.AddProjection) Projection = new Conv2d(w["projection"], 256, 256, 3, 1, 1);
        Conv1 = new Conv2d(w["head"][0], f, f / 2, 3, 1, 1);
        Conv2 = new Conv2d(w["head"][2], f / 2, 32, 3, 1, 1);
        Conv3 = new Conv2d(w["head"][4], 32, 1, 1);
    }

    /// <summary>[B, fusion, h, w] (the caller's, kept) → [B, 2h, 2w].</summary>
    public Tensor Forward(Tensor hidden)
    {
        Tensor x;
        if (Projection is null) x = Conv1.Forward(hidden);
        else
        {
            var projected = Ops.ReluInPlace(Projection.Forward(hidden));
            x = Lifetimes.Replace(projected, Conv1.Forward(projected));
        }
        x = Lifetimes.Replace(x, Ops.Interpolate(x, 2.0, InterpolationMode.Bilinear, alignCorners: true));
        x = Lifetimes.Replace(x, Conv2.Forward(x));
        x = Lifetimes.Replace(x, Ops.ReluInPlace(Conv3.Forward(x, reluInput: true)));
        var depth = x.Reshape(x.Dim(0), x.Dim(2), x.Dim(3));
        ActivationTrace.Record(_path, depth);
        return depth;
    }
}

/// <summary>
/// transformers' DPTForDepthEstimation: a ViT (under DPT-Hybrid, over a BiT backbone) or a BEiT, DINOv2 or Swin V2
/// backbone, the reassemble-and-fuse neck and the depth head.
/// </summary>
public sealed class DPTForDepthEstimation
{
    /// <summary>The validated config.json the model was built from.</summary>
    public DPTConfig Config { get; }
    /// <summary>The ViT (DPTModel); null when a backbone replaces it.</summary>
    internal DPTViTModel? DPT { get; }
    /// <summary>The backbone that replaces the ViT, as load_backbone builds it; null for the ViT and DPT-Hybrid.</summary>
    internal DPTBackbone? Backbone { get; }
    internal DPTNeck Neck { get; }
    internal DPTDepthEstimationHead Head { get; }

    /// <summary>
    /// The model of a folder (config.json and model.safetensors or a sharded index), loaded strictly: every missing,
    /// unused or misshapen tensor is reported by name. <paramref name="options"/> asks for 8-bit or random weights.
    /// </summary>
    /// <param name="folder">The model folder: config.json and model.safetensors (or model.safetensors.index.json and its shards).</param>
    /// <param name="options">8-bit or random weights; null: the checkpoint's as stored.</param>
    /// <exception cref="ConfigException">config.json is missing a value or has an impossible one.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the config.</exception>
    public static DPTForDepthEstimation FromPretrained(string folder, PretrainedOptions? options = null)
    {
        var config = DPTConfig.Load(Path.Combine(folder, "config.json"));
        return Pretrained.Load(folder, options, w => new DPTForDepthEstimation(w, config));
    }

    internal DPTForDepthEstimation(Weights w, DPTConfig c)
    {
        Config = c;
        if (c.IsHybrid || c.BackboneModel is null) DPT = new DPTViTModel(w["dpt"], c);
        else Backbone = DPTBackbone.Load(w["backbone"], c.BackboneModel);
        Neck = new DPTNeck(w["neck"], c);
        Head = new DPTDepthEstimationHead(w["head"], c);
    }

    /// <summary>Progress steps of one forward pass: backbone (or embeddings and encoder layers run), fusion layers, head.</summary>
    public int ForwardSteps =>
        (Backbone?.ForwardSteps ?? DPT!.EmbeddingSteps + Config.SelectedLayers[^1] + 1) + Neck.Convs.Length + 1;

    /// <summary>Relative inverse depth [B, h, w] for pixel values [B, 3, H, W] (before post-processing: <see cref="Processing.DPTPostProcessor"/>).</summary>
    /// <param name="pixelValues">[B, 3, H, W] from the family's image processor; H and W multiples of the patch size.</param>
    /// <param name="progress">Receives one <see cref="ModelProgress"/> per step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        Tensor[] hidden;
        int patch;
        if (Backbone is not null)
        {
            hidden = Backbone.Forward(pixelValues, context);
            patch = Backbone.PatchSize;
        }
        else
        {
            var (layers, intermediate) = DPT!.Forward(pixelValues, Config.SelectedLayers, context);
            // DPT-Hybrid: the BiT's first two feature maps, then the selected layers.
            hidden = [.. intermediate, .. layers];
            patch = Config.PatchSize;
        }
        // The ViT path of the reference takes the grid as the square root of the token count, which only square inputs
        // satisfy; the real grid is the same there and also serves other shapes.
        var fused = Neck.Forward(hidden, pixelValues.Dim(2) / patch, pixelValues.Dim(3) / patch, context);
        var depth = Lifetimes.Replace(fused, Head.Forward(fused));
        context.Step("head");
        return depth;
    }
}

/// <summary>
/// The backbone load_backbone builds from backbone_config when it replaces DPT's ViT: its outputs are the neck's inputs,
/// token sequences for BEiT and DINOv2, feature maps for Swin V2.
/// </summary>
internal sealed class DPTBackbone
{
    private readonly Func<Tensor, ForwardContext, Tensor[]> _forward;

    /// <summary>The backbone's patch size: the reference's grid for the neck's reassembling.</summary>
    public int PatchSize { get; }
    /// <summary>Progress steps of one forward pass.</summary>
    public int ForwardSteps { get; }

    private DPTBackbone(int patchSize, int forwardSteps, Func<Tensor, ForwardContext, Tensor[]> forward)
    {
        PatchSize = patchSize;
        ForwardSteps = forwardSteps;
        _forward = forward;
    }

    /// <summary>The backbone of a validated backbone_config.</summary>
    public static DPTBackbone Load(Weights w, IBackboneConfig config)
    {
        switch (config)
        {
            case BeitConfig beit:
                var b = new BeitBackbone(w, beit);
                return new DPTBackbone(beit.PatchSize, b.ForwardSteps, (x, context) => [.. b.Forward(x, context)]);
            case Dinov2Config dinov2:
                var d = new Dinov2Backbone(w, dinov2);
                return new DPTBackbone(dinov2.PatchSize, dinov2.NumHiddenLayers, (x, context) => d.Forward(x, context, "encoder"));
            case Swinv2Config swin:
                var s = new Swinv2Backbone(w, swin);
                return new DPTBackbone(swin.PatchSize, s.ForwardSteps, (x, context) => s.Forward(x, context));
            default:
                throw new ArgumentException($"'{config.ModelType}' is not a backbone that replaces DPT's ViT", nameof(config));
        }
    }

    /// <summary>Pixel values [B, C, H, W] (the caller's, kept) → the outputs of backbone_config's out stages, new.</summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext context) => _forward(pixelValues, context);
}
