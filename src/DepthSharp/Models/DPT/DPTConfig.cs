using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>
/// transformers' DPTConfig: names as in config.json, defaults as the reference's. The ViT fields describe the
/// built-in backbone (Intel/dpt-large); a DINOv2 backbone_config replaces it. Segmentation-only keys stay in <see cref="Extra"/>.
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
    public Dinov2Config? BackboneConfig { get; set; }
    /// <summary>A named (timm or Hub) backbone; only an inline backbone_config is supported.</summary>
    public string? Backbone { get; set; }
    public bool UseTimmBackbone { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The encoder layers whose outputs feed the neck, in layer order, as the reference picks them from its hidden states.</summary>
    [JsonIgnore] public int[] SelectedLayers =>
        Enumerable.Range(0, NumHiddenLayers).Where(i => BackboneOutIndices?.Contains(i) == true).ToArray();

    /// <summary>Width of the tokens the neck receives: the DINOv2 backbone's when there is one, else the ViT's.</summary>
    [JsonIgnore] public int BackboneHiddenSize => BackboneConfig?.HiddenSize ?? HiddenSize;

    /// <summary>Validates every value the model needs (nothing is filled in: the ViT fields have their defaults).</summary>
    public void Complete(string? file)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{field}: {why}");
        if (ModelType != "dpt") Fail("model_type", $"expected 'dpt', got '{ModelType}'");
        if (IsHybrid) Fail("is_hybrid", "DPT-Hybrid (BiT backbone) is not supported");
        if (Backbone is not null) Fail("backbone", $"named backbones ('{Backbone}') are not supported; give backbone_config");
        if (UseTimmBackbone) Fail("use_timm_backbone", "timm backbones are not supported");
        if (AddProjection && FusionHiddenSize != 256)
            Fail("add_projection", $"the reference's projection is fixed at 256 channels, but fusion_hidden_size is {FusionHiddenSize}");
        if (BackboneConfig is { } backbone)
        {
            backbone.Validate(file, "backbone_config.");
            if (backbone.ReshapeHiddenStates)
                Fail("backbone_config.reshape_hidden_states", "must be false: the neck reads the token sequences and their class token");
            if (backbone.OutStageIndices.Length != NeckHiddenSizes.Count)
                Fail("neck_hidden_sizes", $"has {NeckHiddenSizes.Count} entries but the backbone returns {backbone.OutStageIndices.Length} stages");
        }
        else
        {
            if (HiddenSize <= 0) Fail("hidden_size", $"must be positive, got {HiddenSize}");
            if (NumHiddenLayers <= 0) Fail("num_hidden_layers", $"must be positive, got {NumHiddenLayers}");
            if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
                Fail("num_attention_heads", $"{NumAttentionHeads} does not divide hidden_size {HiddenSize}");
            if (IntermediateSize <= 0) Fail("intermediate_size", $"must be positive, got {IntermediateSize}");
            if (!(LayerNormEps > 0)) Fail("layer_norm_eps", $"must be positive, got {LayerNormEps}");
            if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
            if (ImageSize < PatchSize) Fail("image_size", $"{ImageSize} is smaller than patch_size {PatchSize}");
            if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
            // Indices outside the encoder are skipped by the reference, which then finds too few maps for the neck.
            if (SelectedLayers.Length != NeckHiddenSizes.Count)
                Fail("backbone_out_indices", $"[{string.Join(", ", BackboneOutIndices ?? [])}] selects {SelectedLayers.Length} of the {NumHiddenLayers} layers, but neck_hidden_sizes has {NeckHiddenSizes.Count} entries");
        }
        NeckChecks.Validate(Fail, NeckHiddenSizes, ReassembleFactors, FusionHiddenSize, HeadInIndex);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DPTConfig))]
[JsonSerializable(typeof(BitConfig))]
internal sealed partial class DPTConfigJson : JsonSerializerContext;
