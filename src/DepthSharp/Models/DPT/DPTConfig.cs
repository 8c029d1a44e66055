using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>
/// transformers' DPTConfig: names as in config.json, defaults as the reference's. The ViT fields describe the
/// built-in backbone (Intel/dpt-large); DPT-Hybrid (is_hybrid) puts a BiT backbone under it, and a BEiT, DINOv2 or
/// Swin V2 backbone_config replaces it. Segmentation-only keys stay in <see cref="Extra"/>.
/// </summary>
public sealed class DPTConfig : IPretrainedConfig
{
    /// <summary>Reads and validates a dpt config.json.</summary>
    /// <param name="path">The config.json.</param>
    /// <exception cref="ConfigException">The file is missing, unreadable or not valid JSON, a field has the wrong type, or a value is missing, unsupported or impossible (the message names the field).</exception>
    public static DPTConfig Load(string path) => ConfigLoader.Load(path, DPTConfigJson.Default.DPTConfig);

    /// <summary>model_type: "dpt".</summary>
    public string ModelType { get; set; } = "dpt";
    /// <summary>hidden_size: width of the transformer's tokens.</summary>
    public int HiddenSize { get; set; } = 768;
    /// <summary>num_hidden_layers: number of transformer layers.</summary>
    public int NumHiddenLayers { get; set; } = 12;
    /// <summary>num_attention_heads: attention heads per layer; must divide <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; set; } = 12;
    /// <summary>intermediate_size: width of each layer's MLP.</summary>
    public int IntermediateSize { get; set; } = 3072;
    /// <summary>hidden_act: the MLP's activation.</summary>
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    /// <summary>hidden_dropout_prob: training-only dropout, kept for the file; inference ignores it.</summary>
    public double HiddenDropoutProb { get; set; }
    /// <summary>attention_probs_dropout_prob: training-only dropout, kept for the file; inference ignores it.</summary>
    public double AttentionProbsDropoutProb { get; set; }
    /// <summary>initializer_range: the training initialiser's standard deviation, kept for the file; loading ignores it.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>layer_norm_eps: the epsilon of the layer norms.</summary>
    public double LayerNormEps { get; set; } = 1e-12;
    /// <summary>image_size: the pixel size the position embeddings were trained for; other sizes interpolate them.</summary>
    public int ImageSize { get; set; } = 384;
    /// <summary>patch_size: side in pixels of the square patches the picture is cut into.</summary>
    public int PatchSize { get; set; } = 16;
    /// <summary>num_channels: colour channels of the input (3).</summary>
    public int NumChannels { get; set; } = 3;
    /// <summary>is_hybrid: DPT-Hybrid, a BiT backbone under the ViT (its feature maps feed the embeddings and the first two neck levels).</summary>
    public bool IsHybrid { get; set; }
    /// <summary>qkv_bias: whether the query, key and value projections have biases.</summary>
    public bool QkvBias { get; set; } = true;
    /// <summary>backbone_out_indices: the ViT layers (0-based) whose outputs feed the neck.</summary>
    public List<int>? BackboneOutIndices { get; set; } = [2, 5, 8, 11];
    /// <summary>How the class token joins the patch tokens in the neck.</summary>
    public ReadoutType ReadoutType { get; set; } = ReadoutType.Project;
    /// <summary>reassemble_factors: per neck level, the factor each token map is resized by (4, 2, 1, 0.5: up ×4 to down ×2).</summary>
    public List<double> ReassembleFactors { get; set; } = [4, 2, 1, 0.5];
    /// <summary>neck_hidden_sizes: per neck level, the channels of the reassembled map.</summary>
    public List<int> NeckHiddenSizes { get; set; } = [96, 192, 384, 768];
    /// <summary>fusion_hidden_size: channels of the feature fusion stage and the head's input.</summary>
    public int FusionHiddenSize { get; set; } = 256;
    /// <summary>head_in_index: which fusion output the head reads; -1, the last (finest), is the only one used.</summary>
    public int HeadInIndex { get; set; } = -1;
    /// <summary>use_batch_norm_in_fusion_residual: batch norm in the fusion stage's residual units.</summary>
    public bool UseBatchNormInFusionResidual { get; set; }
    /// <summary>use_bias_in_fusion_residual: biases on the residual units' convolutions; null: the reference's rule (true without batch norm).</summary>
    public bool? UseBiasInFusionResidual { get; set; }
    /// <summary>add_projection: a 3×3 convolution and ReLU before the head (DPT on DINOv2 / BEiT checkpoints have one).</summary>
    public bool AddProjection { get; set; }
    /// <summary>
    /// backbone_config as written; <see cref="Complete"/> reads it into <see cref="BackboneModel"/> (BiT for a hybrid
    /// whatever its model_type, as the reference does; otherwise the class its model_type names).
    /// </summary>
    public JsonElement? BackboneConfig { get; set; }
    /// <summary>DPT-Hybrid: the shape of the BiT feature map the embeddings project; its second entry is the projection's input width.</summary>
    public List<int>? BackboneFeatmapShape { get; set; } = [1, 1024, 24, 24];
    /// <summary>DPT-Hybrid: the hidden states the reassemble stage hands on as they are (the BiT feature maps).</summary>
    public List<int> NeckIgnoreStages { get; set; } = [0, 1];
    /// <summary>A named (timm or Hub) backbone; only an inline backbone_config is supported.</summary>
    public string? Backbone { get; set; }
    /// <summary>use_timm_backbone: must be false: only transformers' own backbones are supported.</summary>
    public bool UseTimmBackbone { get; set; }

    /// <summary>The file's other keys (segmentation heads, id2label, architectures, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>
    /// The typed backbone_config, valid after <see cref="Complete"/>: a <see cref="BitConfig"/> under DPT-Hybrid's ViT,
    /// or the <see cref="BeitConfig"/>, <see cref="Dinov2Config"/> or <see cref="Swinv2Config"/> that replaces the ViT;
    /// null for the plain ViT.
    /// </summary>
    [JsonIgnore] public IBackboneConfig? BackboneModel { get; private set; }

    /// <summary>
    /// The ViT encoder layers whose outputs feed the neck, in layer order, as the reference picks them from its hidden
    /// states; DPT-Hybrid's first two neck inputs are BiT feature maps, so only backbone_out_indices[2:] pick layers.
    /// </summary>
    [JsonIgnore] internal int[] SelectedLayers =>
        Enumerable.Range(0, NumHiddenLayers).Where(i => (IsHybrid ? BackboneOutIndices?.Skip(2) : BackboneOutIndices)?.Contains(i) == true).ToArray();

    /// <summary>Width of the tokens the neck receives: the BEiT or DINOv2 backbone's when one replaces the ViT, else the ViT's.</summary>
    [JsonIgnore] internal int BackboneHiddenSize => BackboneModel switch
    {
        BeitConfig beit => beit.HiddenSize,
        Dinov2Config dinov2 => dinov2.HiddenSize,
        _ => HiddenSize,
    };

    /// <summary>The backbone_config the reference builds for a hybrid config without one (Intel/dpt-hybrid-midas's BiT).</summary>
    private static BitConfig DefaultHybridBackbone() => new()
    {
        GlobalPadding = "same",
        LayerType = BitLayerType.Bottleneck,
        Depths = [3, 4, 9],
        OutFeatures = ["stage1", "stage2", "stage3"],
        EmbeddingDynamicPadding = true,
    };

    /// <summary>
    /// Reads backbone_config into <see cref="BackboneModel"/> (the reference's default BiT for a hybrid without one),
    /// then validates every value the model needs; the ViT fields have their defaults.
    /// </summary>
    /// <param name="file">The config's file, named in errors; null when none.</param>
    /// <exception cref="ConfigException">A value is missing, unsupported or impossible (the message names the field).</exception>
    public void Complete(string? file)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{field}: {why}");
        if (ModelType != "dpt") Fail("model_type", $"expected 'dpt', got '{ModelType}'");
        if (Backbone is not null) Fail("backbone", $"named backbones ('{Backbone}') are not supported; give backbone_config");
        if (UseTimmBackbone) Fail("use_timm_backbone", "timm backbones are not supported");
        if (AddProjection && FusionHiddenSize != 256)
            Fail("add_projection", $"the reference's projection is fixed at 256 channels, but fusion_hidden_size is {FusionHiddenSize}");
        const string where = "backbone_config.";
        var element = BackboneConfig is { ValueKind: not JsonValueKind.Null } e ? e : (JsonElement?)null;
        if (IsHybrid)
        {
            var bit = element is { } given ? BackboneConfigReader.Read(given, DPTConfigJson.Default.BitConfig, file, where) : DefaultHybridBackbone();
            if (element is null) bit.Validate(file, where);
            BackboneModel = bit;
            ValidateViT(Fail);
            ValidateHybrid(Fail, bit);
        }
        else if (element is { } given)
        {
            string? type = given.ValueKind == JsonValueKind.Object && given.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString() : null;
            IBackboneConfig backbone = type switch
            {
                "beit" => BackboneConfigReader.Read(given, DPTConfigJson.Default.BeitConfig, file, where),
                "dinov2" => BackboneConfigReader.Read(given, DPTConfigJson.Default.Dinov2Config, file, where),
                "swinv2" => BackboneConfigReader.Read(given, DPTConfigJson.Default.Swinv2Config, file, where),
                "bit" => throw new ConfigException(file, $"{where}model_type: a BiT backbone goes under the ViT of DPT-Hybrid, which needs is_hybrid true"),
                null => throw new ConfigException(file, $"{where}model_type: missing (one of beit, dinov2, swinv2)"),
                _ => throw new ConfigException(file, $"{where}model_type: '{type}' is not a backbone DPT can use (beit, dinov2, swinv2; bit with is_hybrid)"),
            };
            BackboneModel = backbone;
            ValidateBackbone(Fail, backbone);
        }
        else
        {
            ValidateViT(Fail);
            // Indices outside the encoder are skipped by the reference, which then finds too few maps for the neck.
            if (SelectedLayers.Length != NeckHiddenSizes.Count)
                Fail("backbone_out_indices", $"[{string.Join(", ", BackboneOutIndices ?? [])}] selects {SelectedLayers.Length} of the {NumHiddenLayers} layers, but neck_hidden_sizes has {NeckHiddenSizes.Count} entries");
        }
        NeckChecks.Validate(Fail, NeckHiddenSizes, ReassembleFactors, FusionHiddenSize, HeadInIndex);
    }

    /// <summary>The built-in ViT's own fields (the plain model's encoder, and DPT-Hybrid's above its BiT).</summary>
    private void ValidateViT(Action<string, string> fail)
    {
        if (HiddenSize <= 0) fail("hidden_size", $"must be positive, got {HiddenSize}");
        if (NumHiddenLayers is <= 0 or > ConfigLoader.MaxLayers) fail("num_hidden_layers", $"must be 1 to {ConfigLoader.MaxLayers}, got {NumHiddenLayers}");
        if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            fail("num_attention_heads", $"{NumAttentionHeads} does not divide hidden_size {HiddenSize}");
        if (IntermediateSize <= 0) fail("intermediate_size", $"must be positive, got {IntermediateSize}");
        if (!(LayerNormEps > 0)) fail("layer_norm_eps", $"must be positive, got {LayerNormEps}");
        if (PatchSize <= 0) fail("patch_size", $"must be positive, got {PatchSize}");
        if (ImageSize < PatchSize) fail("image_size", $"{ImageSize} is smaller than patch_size {PatchSize}");
        if (NumChannels <= 0) fail("num_channels", $"must be positive, got {NumChannels}");
    }

    /// <summary>
    /// DPT-Hybrid: the neck takes the BiT's first two feature maps as they are, then the ViT layers of
    /// backbone_out_indices[2:]; the embeddings project the BiT's last map, whose grid the position embeddings must fit.
    /// </summary>
    private void ValidateHybrid(Action<string, string> fail, BitConfig bit)
    {
        const string where = "backbone_config.";
        if (ReadoutType != ReadoutType.Project) fail("readout_type", "DPT-Hybrid needs 'project'");
        if (bit.OutStageIndices.Count != 3)
            fail($"{where}out_features", $"DPT-Hybrid takes 3 BiT feature maps, the config names {bit.OutStageIndices.Count}");
        int lastChannels = bit.FeatureChannels(bit.OutStageIndices[^1]);
        if (BackboneFeatmapShape is not { Count: 4 } featmap || featmap[1] != lastChannels)
            fail("backbone_featmap_shape", $"[{string.Join(", ", BackboneFeatmapShape ?? [])}] must be [batch, {lastChannels}, h, w]: its channels are the projection's input, the BiT's last feature map");
        int grid = ImageSize / PatchSize, side = bit.FeatureSide(ImageSize, bit.OutStageIndices[^1]);
        if (side != grid)
            fail("patch_size", $"{PatchSize} gives a {grid}x{grid} grid of position embeddings, but the BiT turns image_size {ImageSize} into a {side}x{side} map");
        if (NeckHiddenSizes.Count < 2 || NeckIgnoreStages.Order().SequenceEqual([0, 1]) is false)
            fail("neck_ignore_stages", $"[{string.Join(", ", NeckIgnoreStages)}] must be [0, 1]: the neck's first two inputs are BiT feature maps, the others token sequences");
        for (int i = 0; i < 2; i++)
            if (NeckHiddenSizes[i] != bit.FeatureChannels(bit.OutStageIndices[i]))
                fail("neck_hidden_sizes", $"entry {i} is {NeckHiddenSizes[i]}, but BiT feature map {i} has {bit.FeatureChannels(bit.OutStageIndices[i])} channels");
        if (2 + SelectedLayers.Length != NeckHiddenSizes.Count)
            fail("backbone_out_indices", $"[{string.Join(", ", BackboneOutIndices ?? [])}]: 2 BiT maps and the {SelectedLayers.Length} of the {NumHiddenLayers} layers that entries 2 on select do not make the {NeckHiddenSizes.Count} maps of neck_hidden_sizes");
    }

    /// <summary>A backbone that replaces the ViT: its outputs are the neck's inputs, token sequences (BEiT, DINOv2) or maps (Swin V2).</summary>
    private void ValidateBackbone(Action<string, string> fail, IBackboneConfig backbone)
    {
        const string where = "backbone_config.";
        int outputs;
        switch (backbone)
        {
            case BeitConfig beit:
                if (beit.ReshapeHiddenStates) fail($"{where}reshape_hidden_states", "must be false: the neck reads the token sequences and their class token");
                if (beit.AddFpn) fail($"{where}add_fpn", "must be false: the neck reads the backbone's token sequences");
                outputs = beit.OutStageIndices.Count;
                break;
            case Dinov2Config dinov2:
                if (dinov2.ReshapeHiddenStates) fail($"{where}reshape_hidden_states", "must be false: the neck reads the token sequences and their class token");
                outputs = dinov2.OutStageIndices.Length;
                break;
            case Swinv2Config swin:
                // No reassemble stage: each map goes to its neck convolution as it is.
                outputs = swin.OutStageIndices.Count;
                for (int i = 0; i < Math.Min(outputs, NeckHiddenSizes.Count); i++)
                    if (NeckHiddenSizes[i] != swin.FeatureChannels(swin.OutStageIndices[i]))
                        fail("neck_hidden_sizes", $"entry {i} is {NeckHiddenSizes[i]}, but Swin V2 feature map {i} ({swin.StageNames[swin.OutStageIndices[i]]}) has {swin.FeatureChannels(swin.OutStageIndices[i])} channels");
                break;
            default:
                throw new InvalidOperationException($"backbone {backbone.ModelType}");
        }
        if (outputs != NeckHiddenSizes.Count)
            fail("neck_hidden_sizes", $"has {NeckHiddenSizes.Count} entries but the backbone returns {outputs} stages");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(DPTConfig))]
[JsonSerializable(typeof(BitConfig))]
[JsonSerializable(typeof(BeitConfig))]
[JsonSerializable(typeof(Dinov2Config))]
[JsonSerializable(typeof(Swinv2Config))]
internal sealed partial class DPTConfigJson : JsonSerializerContext;
