using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>transformers' BeitConfig as a backbone: names as in config.json, defaults as the reference's.</summary>
public sealed class BeitConfig : IBackboneConfig
{
    /// <summary>model_type: "beit".</summary>
    public string ModelType { get; set; } = "beit";
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
    /// <summary>image_size: the pixel size the relative position tables were made for; other sizes interpolate them.</summary>
    public int ImageSize { get; set; } = 224;
    /// <summary>patch_size: side in pixels of the square patches the picture is cut into.</summary>
    public int PatchSize { get; set; } = 16;
    /// <summary>num_channels: colour channels of the input (3).</summary>
    public int NumChannels { get; set; } = 3;
    /// <summary>use_mask_token: the embeddings hold a mask_token weight (used in pre-training only; the checkpoint must have it when true).</summary>
    public bool UseMaskToken { get; set; }
    /// <summary>use_absolute_position_embeddings: add learned absolute position embeddings to the patches.</summary>
    public bool UseAbsolutePositionEmbeddings { get; set; }
    /// <summary>use_relative_position_bias: each layer adds its own relative position bias to the attention scores.</summary>
    public bool UseRelativePositionBias { get; set; }
    /// <summary>use_shared_relative_position_bias: one relative position bias table shared by every layer.</summary>
    public bool UseSharedRelativePositionBias { get; set; }
    /// <summary>layer_scale_init_value: layer scale's initial value; a positive value means the layers have lambda_1 and lambda_2 weights.</summary>
    public double LayerScaleInitValue { get; set; } = 0.1;
    /// <summary>drop_path_rate: training-only stochastic depth, kept for the file; inference ignores it.</summary>
    public double DropPathRate { get; set; } = 0.1;
    /// <summary>use_mean_pooling: the classification pooler's setting, kept for the file; the backbone does not pool.</summary>
    public bool UseMeanPooling { get; set; } = true;
    /// <summary>out_features: the stage names (e.g. "stage12") whose hidden states the backbone returns; null: from out_indices.</summary>
    public List<string>? OutFeatures { get; set; }
    /// <summary>out_indices: the stage indices (0 = embeddings) whose hidden states the backbone returns; null: from out_features.</summary>
    public List<int>? OutIndices { get; set; }
    /// <summary>add_fpn: BEiT's own feature pyramid for segmentation; ZoeDepth needs false.</summary>
    public bool AddFpn { get; set; }
    /// <summary>reshape_hidden_states: return the backbone's states as [B, C, h, w] maps rather than token sequences; ZoeDepth needs false.</summary>
    public bool ReshapeHiddenStates { get; set; } = true;

    /// <summary>Keys this class does not model (segmentation heads, stage_names, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The patch grid of the configured image size: the window the relative position tables were made for.</summary>
    [JsonIgnore] internal int Grid => ImageSize / PatchSize;

    /// <summary>"stem" (the embeddings) then "stage1".."stageN" (after each layer); the reference derives them from the layer count.</summary>
    [JsonIgnore] internal IReadOnlyList<string> StageNames =>
        ["stem", .. Enumerable.Range(1, NumHiddenLayers).Select(i => $"stage{i}")];

    /// <summary>
    /// Indices into <see cref="StageNames"/> of the hidden states the backbone returns, from out_features and/or
    /// out_indices as the reference aligns them (neither: the last stage); valid after <see cref="Validate"/>.
    /// </summary>
    [JsonIgnore] internal IReadOnlyList<int> OutStageIndices { get; private set; } = [];

    /// <summary>Rejects values the backbone cannot take; <paramref name="where"/> is the JSON path of this config.</summary>
    public void Validate(string? file, string where)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{where}{field}: {why}");
        if (ModelType != "beit") Fail("model_type", $"'{ModelType}' is not supported as a backbone (only 'beit')");
        if (HiddenSize <= 0) Fail("hidden_size", $"must be positive, got {HiddenSize}");
        if (NumHiddenLayers is <= 0 or > ConfigLoader.MaxLayers) Fail("num_hidden_layers", $"must be 1 to {ConfigLoader.MaxLayers}, got {NumHiddenLayers}");
        if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            Fail("num_attention_heads", $"{NumAttentionHeads} does not divide hidden_size {HiddenSize}");
        if (IntermediateSize <= 0) Fail("intermediate_size", $"must be positive, got {IntermediateSize}");
        if (!(LayerNormEps > 0)) Fail("layer_norm_eps", $"must be positive, got {LayerNormEps}");
        if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
        if (ImageSize < PatchSize) Fail("image_size", $"{ImageSize} is smaller than patch_size {PatchSize}");
        if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
        if (!double.IsFinite(LayerScaleInitValue)) Fail("layer_scale_init_value", $"must be finite, got {LayerScaleInitValue}");
        OutStageIndices = BackboneStages.Align(Fail, StageNames, OutFeatures, OutIndices);
    }
}
