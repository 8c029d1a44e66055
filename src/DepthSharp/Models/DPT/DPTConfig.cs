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
    /// <summary>is_hybrid: DPT-Hybrid's BiT + ViT backbone; not supported (validation refuses it).</summary>
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
    /// <summary>backbone_config: an inline DINOv2 backbone replacing the built-in ViT; null: the ViT above.</summary>
    public Dinov2Config? BackboneConfig { get; set; }
    /// <summary>A named (timm or Hub) backbone; only an inline backbone_config is supported.</summary>
    public string? Backbone { get; set; }
    /// <summary>use_timm_backbone: must be false: only transformers' own backbones are supported.</summary>
    public bool UseTimmBackbone { get; set; }

    /// <summary>The file's other keys (segmentation heads, id2label, architectures, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The encoder layers whose outputs feed the neck, in layer order, as the reference picks them from its hidden states.</summary>
    [JsonIgnore] internal int[] SelectedLayers =>
        Enumerable.Range(0, NumHiddenLayers).Where(i => BackboneOutIndices?.Contains(i) == true).ToArray();

    /// <summary>Width of the tokens the neck receives: the DINOv2 backbone's when there is one, else the ViT's.</summary>
    [JsonIgnore] internal int BackboneHiddenSize => BackboneConfig?.HiddenSize ?? HiddenSize;

    /// <summary>Validates every value the model needs (nothing is filled in: the ViT fields have their defaults).</summary>
    /// <param name="file">The config's file, named in errors; null when none.</param>
    /// <exception cref="ConfigException">A value is missing, unsupported or impossible (the message names the field).</exception>
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
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(DPTConfig))]
internal sealed partial class DPTConfigJson : JsonSerializerContext;
