using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>transformers' Dinov2Config: names as in config.json, defaults as the reference's.</summary>
public sealed class Dinov2Config : IBackboneConfig
{
    /// <summary>model_type: "dinov2".</summary>
    public string ModelType { get; set; } = "dinov2";
    /// <summary>hidden_size: width of the transformer's tokens.</summary>
    public int HiddenSize { get; set; } = 768;
    /// <summary>num_hidden_layers: number of transformer layers.</summary>
    public int NumHiddenLayers { get; set; } = 12;
    /// <summary>num_attention_heads: attention heads per layer; must divide <see cref="HiddenSize"/>.</summary>
    public int NumAttentionHeads { get; set; } = 12;
    /// <summary>mlp_ratio: the MLP's width as a multiple of <see cref="HiddenSize"/>.</summary>
    public double MlpRatio { get; set; } = 4;
    /// <summary>hidden_act: the MLP's activation.</summary>
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    /// <summary>hidden_dropout_prob: training-only dropout, kept for the file; inference ignores it.</summary>
    public double HiddenDropoutProb { get; set; }
    /// <summary>attention_probs_dropout_prob: training-only dropout, kept for the file; inference ignores it.</summary>
    public double AttentionProbsDropoutProb { get; set; }
    /// <summary>initializer_range: the training initialiser's standard deviation, kept for the file; loading ignores it.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>layer_norm_eps: the epsilon of the layer norms.</summary>
    public double LayerNormEps { get; set; } = 1e-6;
    /// <summary>image_size: the pixel size the position embeddings were trained for; other sizes interpolate them.</summary>
    public int ImageSize { get; set; } = 224;
    /// <summary>patch_size: side in pixels of the square patches the picture is cut into.</summary>
    public int PatchSize { get; set; } = 14;
    /// <summary>num_channels: colour channels of the input (3).</summary>
    public int NumChannels { get; set; } = 3;
    /// <summary>qkv_bias: whether the query, key and value projections have biases.</summary>
    public bool QkvBias { get; set; } = true;
    /// <summary>layerscale_value: layer scale's initial value (the checkpoint's lambda1 weights replace it).</summary>
    public double LayerscaleValue { get; set; } = 1.0;
    /// <summary>drop_path_rate: training-only stochastic depth, kept for the file; inference ignores it.</summary>
    public double DropPathRate { get; set; }
    /// <summary>use_swiglu_ffn: a SwiGLU feed-forward instead of the plain MLP (giant models).</summary>
    public bool UseSwigluFfn { get; set; }
    /// <summary>out_features: the stage names (e.g. "stage12") whose hidden states the backbone returns; null: from out_indices.</summary>
    public List<string>? OutFeatures { get; set; }
    /// <summary>out_indices: the stage indices (0 = embeddings) whose hidden states the backbone returns; null: from out_features.</summary>
    public List<int>? OutIndices { get; set; }
    /// <summary>apply_layernorm: the backbone applies the final layer norm to the states it returns.</summary>
    public bool ApplyLayernorm { get; set; } = true;
    /// <summary>reshape_hidden_states: return the backbone's states as [B, C, h, w] maps rather than token sequences; DPT and Depth Anything need false.</summary>
    public bool ReshapeHiddenStates { get; set; } = true;
    /// <summary>use_mask_token: the embeddings hold a mask_token weight (used in pre-training only; the checkpoint must have it when true).</summary>
    public bool UseMaskToken { get; set; } = true;

    /// <summary>Keys this class does not model, kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    internal int MlpHiddenSize => (int)(HiddenSize * MlpRatio);

    /// <summary>SwiGLU's hidden width: two thirds of the MLP's, rounded up to a multiple of 8.</summary>
    internal int SwigluHiddenSize => ((int)(MlpHiddenSize * 2 / 3.0) + 7) / 8 * 8;

    /// <summary>The reference derives stage_names from the depth ("stem", "stage1".."stageN"); a stored list is ignored.</summary>
    [JsonIgnore] internal IReadOnlyList<string> StageNames => ["stem", .. Enumerable.Range(1, NumHiddenLayers).Select(i => $"stage{i}")];

    /// <summary>
    /// The hidden states a backbone returns (0 = embeddings, i = after layer i), from out_indices and/or out_features
    /// as the reference aligns them; neither given means the last stage. Negative indices wrap modulo the stage count,
    /// as Python's % does. Valid after <see cref="Validate"/>.
    /// </summary>
    [JsonIgnore] internal int[] OutStageIndices =>
        OutIndices is { } indices ? indices.Select(i => i < 0 ? (i % (NumHiddenLayers + 1) + NumHiddenLayers + 1) % (NumHiddenLayers + 1) : i).ToArray()
        : OutFeatures is { } features ? features.Select(f => StageNames.ToList().IndexOf(f)).ToArray()
        : [NumHiddenLayers];

    /// <summary>Rejects values the model cannot take; <paramref name="where"/> is the JSON path of this config.</summary>
    public void Validate(string? file, string where)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{where}{field}: {why}");
        if (ModelType != "dinov2") Fail("model_type", $"'{ModelType}' is not supported as a backbone (only 'dinov2')");
        if (HiddenSize <= 0) Fail("hidden_size", $"must be positive, got {HiddenSize}");
        if (NumHiddenLayers is <= 0 or > ConfigLoader.MaxLayers) Fail("num_hidden_layers", $"must be 1 to {ConfigLoader.MaxLayers}, got {NumHiddenLayers}");
        if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            Fail("num_attention_heads", $"{NumAttentionHeads} does not divide hidden_size {HiddenSize}");
        if (!(MlpRatio > 0) || MlpHiddenSize <= 0) Fail("mlp_ratio", $"must give a positive hidden width, got {MlpRatio}");
        if (!(LayerNormEps > 0)) Fail("layer_norm_eps", $"must be positive, got {LayerNormEps}");
        if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
        if (ImageSize < PatchSize) Fail("image_size", $"{ImageSize} is smaller than patch_size {PatchSize}");
        if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
        ValidateOutStages(Fail);
    }

    /// <summary>The reference's checks on out_features / out_indices: known stages, no repeats, in stage order, and agreeing when both are given.</summary>
    private void ValidateOutStages(Action<string, string> fail)
    {
        var names = StageNames;
        if (OutFeatures is { } features)
        {
            foreach (var f in features)
                if (!names.Contains(f)) fail("out_features", $"'{f}' is not a stage (stem, stage1..stage{NumHiddenLayers})");
            if (features.Distinct().Count() != features.Count) fail("out_features", "must not repeat a stage");
            if (!features.SequenceEqual(features.OrderBy(f => names.ToList().IndexOf(f)))) fail("out_features", "must be in stage order");
        }
        if (OutIndices is { } indices)
        {
            int stages = names.Count;
            foreach (int i in indices)
                if (i >= stages) fail("out_indices", $"{i} is not a stage index (0..{stages - 1})");
            var positive = OutStageIndices;
            if (positive.Distinct().Count() != positive.Length) fail("out_indices", "must not repeat a stage");
            if (!positive.SequenceEqual(positive.Order())) fail("out_indices", "must be in stage order");
            if (OutFeatures is { } both && !both.SequenceEqual(positive.Select(i => names[i])))
                fail("out_features", $"[{string.Join(", ", both)}] and out_indices [{string.Join(", ", indices)}] name different stages");
        }
    }
}
