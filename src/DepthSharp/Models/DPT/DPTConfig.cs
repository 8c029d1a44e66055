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
    public static DPTConfig Load(string path) => ConfigLoader.Load(path, DPTConfigJson.Default.DPTConfig);

    public string ModelType { get; set; } = "dpt";
    public int HiddenSize { get; set; } = 768;
    public int NumHiddenLayers { get; set; } = 12;
    public int NumAttentionHeads { get; set; } = 12;
    public int IntermediateSize { get; set; } = 3072;
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    public double HiddenDropoutProb { get; set; }
    public double AttentionProbsDropoutProb { get; set; }
    public double InitializerRange { get; set; } = 0.02;
    public double LayerNormEps { get; set; } = 1e-12;
    public int ImageSize { get; set; } = 384;
    public int PatchSize { get; set; } = 16;
    public int NumChannels { get; set; } = 3;
    public bool IsHybrid { get; set; }
    public bool QkvBias { get; set; } = true;
    public List<int>? BackboneOutIndices { get; set; } = [2, 5, 8, 11];
    /// <summary>How the class token joins the patch tokens in the neck.</summary>
    public ReadoutType ReadoutType { get; set; } = ReadoutType.Project;
    public List<double> ReassembleFactors { get; set; } = [4, 2, 1, 0.5];
    public List<int> NeckHiddenSizes { get; set; } = [96, 192, 384, 768];
    public int FusionHiddenSize { get; set; } = 256;
    public int HeadInIndex { get; set; } = -1;
    public bool UseBatchNormInFusionResidual { get; set; }
    public bool? UseBiasInFusionResidual { get; set; }
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
    public bool UseTimmBackbone { get; set; }

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
    [JsonIgnore] public int[] SelectedLayers =>
        Enumerable.Range(0, NumHiddenLayers).Where(i => (IsHybrid ? BackboneOutIndices?.Skip(2) : BackboneOutIndices)?.Contains(i) == true).ToArray();

    /// <summary>Width of the tokens the neck receives: the BEiT or DINOv2 backbone's when one replaces the ViT, else the ViT's.</summary>
    [JsonIgnore] public int BackboneHiddenSize => BackboneModel switch
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
        if (NumHiddenLayers <= 0) fail("num_hidden_layers", $"must be positive, got {NumHiddenLayers}");
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
