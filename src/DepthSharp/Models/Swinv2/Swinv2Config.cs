using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>
/// transformers' Swinv2Config as a backbone_config: names as in config.json, defaults as the reference's. hidden_size,
/// num_layers and stage_names are derived from the other fields, as the reference does; stored values are ignored.
/// </summary>
public sealed class Swinv2Config : IBackboneConfig
{
    /// <summary>model_type: "swinv2".</summary>
    public string ModelType { get; set; } = "swinv2";
    /// <summary>image_size: the pixel size the model was built for (the attention masks' and windows' reference size).</summary>
    public int ImageSize { get; set; } = 224;
    /// <summary>patch_size: side in pixels of the square patches.</summary>
    public int PatchSize { get; set; } = 4;
    /// <summary>num_channels: colour channels of the input (3).</summary>
    public int NumChannels { get; set; } = 3;
    /// <summary>embed_dim: channels of the patch embeddings; each stage doubles it.</summary>
    public int EmbedDim { get; set; } = 96;
    /// <summary>depths: per stage, the number of transformer blocks.</summary>
    public List<int> Depths { get; set; } = [2, 2, 6, 2];
    /// <summary>num_heads: per stage, the attention heads.</summary>
    public List<int> NumHeads { get; set; } = [3, 6, 12, 24];
    /// <summary>window_size: side in tokens of the attention windows.</summary>
    public int WindowSize { get; set; } = 7;
    /// <summary>Per stage, the window the position-bias MLP was pre-trained on (0: this stage's own window); null means all 0.</summary>
    public List<int>? PretrainedWindowSizes { get; set; } = [0, 0, 0, 0];
    /// <summary>mlp_ratio: the MLP's hidden width over the stage's channels.</summary>
    public double MlpRatio { get; set; } = 4.0;
    /// <summary>qkv_bias: whether the query and value projections have biases.</summary>
    public bool QkvBias { get; set; } = true;
    /// <summary>hidden_dropout_prob: training-only dropout, kept for the file; inference ignores it.</summary>
    public double HiddenDropoutProb { get; set; }
    /// <summary>attention_probs_dropout_prob: training-only dropout, kept for the file; inference ignores it.</summary>
    public double AttentionProbsDropoutProb { get; set; }
    /// <summary>drop_path_rate: stochastic depth, training only.</summary>
    public double DropPathRate { get; set; } = 0.1;
    /// <summary>hidden_act: the MLP's activation.</summary>
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    /// <summary>use_absolute_embeddings: absolute position embeddings after the patch embeddings.</summary>
    public bool UseAbsoluteEmbeddings { get; set; }
    /// <summary>initializer_range: the training initialiser's standard deviation, kept for the file; loading ignores it.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>layer_norm_eps: the epsilon of the layer norms.</summary>
    public double LayerNormEps { get; set; } = 1e-5;
    /// <summary>encoder_stride: the encoder's overall stride, kept for the file (masked image modelling only).</summary>
    public int EncoderStride { get; set; } = 32;
    /// <summary>out_features: the stages ("stem", "stage1", ...) whose maps the backbone returns; null: see out_indices.</summary>
    public List<string>? OutFeatures { get; set; }
    /// <summary>out_indices: indices of those stages; null with out_features null: the last stage.</summary>
    public List<int>? OutIndices { get; set; }

    /// <summary>Keys this class does not model (label maps, generation settings, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>Indices into <see cref="StageNames"/> of the feature maps the backbone returns; valid after <see cref="Validate"/>.</summary>
    [JsonIgnore] internal IReadOnlyList<int> OutStageIndices { get; private set; } = [];

    /// <summary>num_layers: the number of stages (derived from depths).</summary>
    [JsonIgnore] public int NumLayers => Depths.Count;

    /// <summary>Channels after the last stage, as the reference derives hidden_size.</summary>
    [JsonIgnore] public int HiddenSize => StageDim(NumLayers - 1);

    /// <summary>"stem" (the embeddings) then "stage1".."stageN".</summary>
    [JsonIgnore] public IReadOnlyList<string> StageNames => ["stem", .. Enumerable.Range(1, NumLayers).Select(i => $"stage{i}")];

    /// <summary>The patch grid of the configured image size; stage i's build-time resolution is this halved i times.</summary>
    [JsonIgnore] internal int Grid => ImageSize / PatchSize;

    /// <summary>Channels of feature map <see cref="StageNames"/>[<paramref name="index"/>]: the embeddings' for "stem", else its stage's (before merging).</summary>
    internal int FeatureChannels(int index) => index == 0 ? EmbedDim : StageDim(index - 1);

    /// <summary>Channels of encoder stage <paramref name="stage"/> (0-based): embed_dim doubled per stage.</summary>
    internal int StageDim(int stage) => (int)(EmbedDim * Math.Pow(2, stage));

    /// <summary>The side of stage <paramref name="stage"/>'s map at the configured image size, which fixes its window and shift.</summary>
    internal int StageResolution(int stage) => Grid >> stage;

    /// <summary>The pre-trained window of stage <paramref name="stage"/> (0 when none).</summary>
    internal int PretrainedWindowSize(int stage) => PretrainedWindowSizes?[stage] ?? 0;

    /// <summary>The MLP's hidden width for a stage of <paramref name="dim"/> channels: int(mlp_ratio · dim).</summary>
    internal int MlpHiddenSize(int dim) => (int)(MlpRatio * dim);

    /// <summary>Rejects values the backbone cannot take; <paramref name="where"/> is the JSON path of this config.</summary>
    public void Validate(string? file, string where)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{where}{field}: {why}");
        if (ModelType != "swinv2") Fail("model_type", $"'{ModelType}' is not a Swin V2 config (expected 'swinv2')");
        if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
        if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
        if (EmbedDim <= 0) Fail("embed_dim", $"must be positive, got {EmbedDim}");
        if (Depths.Count == 0 || Depths.Any(d => d is < 0 or > ConfigLoader.MaxLayers)) Fail("depths", $"must list each stage's block count (0 to {ConfigLoader.MaxLayers}), got [{string.Join(", ", Depths)}]");
        // Channels double per stage; past 2^24 they no longer fit the tensors.
        if (Depths.Count > 24 || (long)EmbedDim << (Depths.Count - 1) > 1 << 24) Fail("depths", $"{Depths.Count} stages from embed_dim {EmbedDim} give too many channels");
        // The last stage's build-time map must hold at least one token, or its window would be empty.
        if (ImageSize < PatchSize || StageResolution(NumLayers - 1) < 1)
            Fail("image_size", $"{ImageSize} with patch_size {PatchSize} leaves no map for stage {NumLayers} after {NumLayers - 1} halvings");
        if (NumHeads.Count != Depths.Count) Fail("num_heads", $"has {NumHeads.Count} entries for {Depths.Count} stages");
        for (int i = 0; i < NumHeads.Count; i++)
            if (NumHeads[i] <= 0 || StageDim(i) % NumHeads[i] != 0)
                Fail("num_heads", $"{NumHeads[i]} heads do not divide stage {i + 1}'s {StageDim(i)} channels");
        if (WindowSize <= 0) Fail("window_size", $"must be positive, got {WindowSize}");
        if (PretrainedWindowSizes is { } pretrained)
        {
            if (pretrained.Count < Depths.Count) Fail("pretrained_window_sizes", $"has {pretrained.Count} entries for {Depths.Count} stages");
            // A pre-trained window of 1 divides the position table by zero in the reference.
            if (pretrained.Any(p => p < 0 || p == 1)) Fail("pretrained_window_sizes", $"must be 0 or at least 2, got [{string.Join(", ", pretrained)}]");
        }
        else if (Depths.Count > 4) Fail("pretrained_window_sizes", $"the reference's default has 4 entries, but there are {Depths.Count} stages");
        if (!(MlpRatio > 0) || Enumerable.Range(0, NumLayers).Any(i => MlpHiddenSize(StageDim(i)) <= 0))
            Fail("mlp_ratio", $"must give every stage a positive hidden width, got {MlpRatio}");
        if (!(LayerNormEps > 0)) Fail("layer_norm_eps", $"must be positive, got {LayerNormEps}");
        // The reference's table has num_patches + 1 rows for num_patches tokens, so its forward pass fails with it.
        if (UseAbsoluteEmbeddings) Fail("use_absolute_embeddings", "cannot run: the reference's table does not match its token count");
        OutStageIndices = BackboneStages.Align(Fail, StageNames, OutFeatures, OutIndices);
    }
}
