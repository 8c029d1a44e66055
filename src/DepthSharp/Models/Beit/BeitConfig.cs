using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>transformers' BeitConfig as a backbone: names as in config.json, defaults as the reference's.</summary>
public sealed class BeitConfig : IBackboneConfig
{
    public string ModelType { get; set; } = "beit";
    public int HiddenSize { get; set; } = 768;
    public int NumHiddenLayers { get; set; } = 12;
    public int NumAttentionHeads { get; set; } = 12;
    public int IntermediateSize { get; set; } = 3072;
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    public double HiddenDropoutProb { get; set; }
    public double AttentionProbsDropoutProb { get; set; }
    public double InitializerRange { get; set; } = 0.02;
    public double LayerNormEps { get; set; } = 1e-12;
    public int ImageSize { get; set; } = 224;
    public int PatchSize { get; set; } = 16;
    public int NumChannels { get; set; } = 3;
    public bool UseMaskToken { get; set; }
    public bool UseAbsolutePositionEmbeddings { get; set; }
    public bool UseRelativePositionBias { get; set; }
    public bool UseSharedRelativePositionBias { get; set; }
    public double LayerScaleInitValue { get; set; } = 0.1;
    public double DropPathRate { get; set; } = 0.1;
    public bool UseMeanPooling { get; set; } = true;
    public List<string>? OutFeatures { get; set; }
    public List<int>? OutIndices { get; set; }
    public bool AddFpn { get; set; }
    public bool ReshapeHiddenStates { get; set; } = true;

    /// <summary>Keys this class does not model (segmentation heads, stage_names, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The patch grid of the configured image size: the window the relative position tables were made for.</summary>
    [JsonIgnore] public int Grid => ImageSize / PatchSize;

    /// <summary>"stem" (the embeddings) then "stage1".."stageN" (after each layer); the reference derives them from the layer count.</summary>
    [JsonIgnore] public IReadOnlyList<string> StageNames =>
        ["stem", .. Enumerable.Range(1, NumHiddenLayers).Select(i => $"stage{i}")];

    /// <summary>
    /// Indices into <see cref="StageNames"/> of the hidden states the backbone returns, from out_features and/or
    /// out_indices as the reference aligns them (neither: the last stage); valid after <see cref="Validate"/>.
    /// </summary>
    [JsonIgnore] public IReadOnlyList<int> OutStageIndices { get; private set; } = [];

    /// <summary>Rejects values the backbone cannot take; <paramref name="where"/> is the JSON path of this config.</summary>
    public void Validate(string? file, string where)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{where}{field}: {why}");
        if (ModelType != "beit") Fail("model_type", $"'{ModelType}' is not supported as a backbone (only 'beit')");
        if (HiddenSize <= 0) Fail("hidden_size", $"must be positive, got {HiddenSize}");
        if (NumHiddenLayers <= 0) Fail("num_hidden_layers", $"must be positive, got {NumHiddenLayers}");
        if (NumAttentionHeads <= 0 || HiddenSize % NumAttentionHeads != 0)
            Fail("num_attention_heads", $"{NumAttentionHeads} does not divide hidden_size {HiddenSize}");
        if (IntermediateSize <= 0) Fail("intermediate_size", $"must be positive, got {IntermediateSize}");
        if (!(LayerNormEps > 0)) Fail("layer_norm_eps", $"must be positive, got {LayerNormEps}");
        if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
        if (ImageSize < PatchSize) Fail("image_size", $"{ImageSize} is smaller than patch_size {PatchSize}");
        if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
        if (!double.IsFinite(LayerScaleInitValue)) Fail("layer_scale_init_value", $"must be finite, got {LayerScaleInitValue}");
        OutStageIndices = AlignOutputs(Fail);
    }

    /// <summary>The reference's out_features / out_indices rules: known, unique, in stage order, and naming the same stages when both are given.</summary>
    private List<int> AlignOutputs(Action<string, string> fail)
    {
        var names = StageNames;
        List<int>? fromFeatures = null, fromIndices = null;
        if (OutFeatures is not null)
        {
            foreach (var f in OutFeatures)
                if (!names.Contains(f)) fail("out_features", $"'{f}' is not a stage (stem, stage1..stage{NumHiddenLayers})");
            fromFeatures = OutFeatures.Select(f => names.ToList().IndexOf(f)).ToList();
            if (fromFeatures.Distinct().Count() != fromFeatures.Count) fail("out_features", "must not repeat a stage");
            if (!fromFeatures.SequenceEqual(fromFeatures.Order())) fail("out_features", "must be in stage order");
        }
        if (OutIndices is not null)
        {
            fromIndices = OutIndices.Select(i => i < 0 ? i + names.Count : i).ToList();
            if (fromIndices.Any(i => i < 0 || i >= names.Count))
                fail("out_indices", $"[{string.Join(", ", OutIndices)}] are not all stage indices (0..{names.Count - 1})");
            if (fromIndices.Distinct().Count() != fromIndices.Count) fail("out_indices", "must not repeat a stage");
            if (!fromIndices.SequenceEqual(fromIndices.Order())) fail("out_indices", "must be in stage order");
        }
        if (fromFeatures is not null && fromIndices is not null && !fromFeatures.SequenceEqual(fromIndices))
            fail("out_indices", $"[{string.Join(", ", OutIndices!)}] do not name the stages of out_features [{string.Join(", ", OutFeatures!)}]");
        return fromFeatures ?? fromIndices ?? [names.Count - 1];
    }
}
