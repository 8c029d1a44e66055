using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>ZoeDepth's <c>bin_centers_type</c>: how the metric head's bin centres are bounded.</summary>
[JsonConverter(typeof(BinCentersTypeJson))]
public enum BinCentersType
{
    /// <summary>"normed": centres in [min_depth, max_depth] (widths normalised to the range; attractors on [0, 1]).</summary>
    Normed,
    /// <summary>"softplus": unbounded positive centres in metres.</summary>
    Softplus,
}

/// <summary>ZoeDepth's <c>attractor_kind</c>: how the attractors' pulls on a bin centre combine.</summary>
[JsonConverter(typeof(AttractorKindJson))]
public enum AttractorKind
{
    /// <summary>"mean": the average pull.</summary>
    Mean,
    /// <summary>"sum": the summed pull.</summary>
    Sum,
}

/// <summary>One metric head's bins: how many, over which depth range (metres), and the head's name.</summary>
public sealed class ZoeDepthBinConfiguration
{
    /// <summary>name: the head's name, as the router reports it (e.g. "nyu", "kitti").</summary>
    public string? Name { get; set; }
    /// <summary>n_bins: the number of depth bins; required.</summary>
    public int? NBins { get; set; }
    /// <summary>min_depth: the bins' lower bound in metres; required.</summary>
    public double? MinDepth { get; set; }
    /// <summary>max_depth: the bins' upper bound in metres; required, above min_depth.</summary>
    public double? MaxDepth { get; set; }

    /// <summary>Other keys, kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>Values for code that runs after validation (which guarantees them).</summary>
    [JsonIgnore] internal int Bins => NBins!.Value;
    [JsonIgnore] internal double Min => MinDepth!.Value;
    [JsonIgnore] internal double Max => MaxDepth!.Value;
}

/// <summary>transformers' ZoeDepthConfig: names as in config.json, defaults as the reference's.</summary>
public sealed class ZoeDepthConfig : IPretrainedConfig
{
    /// <summary>Reads a zoedepth config.json, fills an absent backbone with the reference's default BEiT and validates it.</summary>
    /// <param name="path">The config.json.</param>
    /// <exception cref="ConfigException">The file is missing, unreadable or not valid JSON, a field has the wrong type, or a value is missing, unsupported or impossible (the message names the field).</exception>
    public static ZoeDepthConfig Load(string path) => ConfigLoader.Load(path, ZoeDepthConfigJson.Default.ZoeDepthConfig);

    /// <summary>model_type: "zoedepth".</summary>
    public string ModelType { get; set; } = "zoedepth";
    /// <summary>backbone_config: the BEiT backbone; null: the reference's default BEiT-L at 384, filled in by <see cref="Load"/>.</summary>
    public BeitConfig? BackboneConfig { get; set; }
    /// <summary>backbone: a named (timm or Hub) backbone; not supported (give backbone_config).</summary>
    public string? Backbone { get; set; }
    /// <summary>use_pretrained_backbone: must be false: the backbone's weights come from the checkpoint.</summary>
    public bool UsePretrainedBackbone { get; set; }
    /// <summary>backbone_kwargs: arguments for a named backbone; not supported.</summary>
    public Dictionary<string, JsonElement>? BackboneKwargs { get; set; }
    /// <summary>hidden_act: the activation of the metric head's layers.</summary>
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    /// <summary>initializer_range: the training initialiser's standard deviation, kept for the file; loading ignores it.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>batch_norm_eps: the epsilon of the batch norms.</summary>
    public double BatchNormEps { get; set; } = 1e-5;
    /// <summary>readout_type: how the [CLS] token joins the patch tokens in the neck.</summary>
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
    /// <summary>num_relative_features: channels of the relative depth head's feature output, which the metric head reads.</summary>
    public int NumRelativeFeatures { get; set; } = 32;
    /// <summary>add_projection: a 3×3 convolution and ReLU before the head (DPT on DINOv2 / BEiT checkpoints have one).</summary>
    public bool AddProjection { get; set; }
    /// <summary>bottleneck_features: channels of the metric head's bottleneck and bin embeddings' input.</summary>
    public int BottleneckFeatures { get; set; } = 256;
    /// <summary>num_attractors: per attractor layer, the number of attractor points (coarse to fine).</summary>
    public List<int> NumAttractors { get; set; } = [16, 8, 4, 1];
    /// <summary>bin_embedding_dim: width of the bin embeddings in the metric head.</summary>
    public int BinEmbeddingDim { get; set; } = 128;
    /// <summary>attractor_alpha: the attractors' strength α.</summary>
    public double AttractorAlpha { get; set; } = 1000;
    /// <summary>attractor_gamma: the attractors' exponent γ.</summary>
    public double AttractorGamma { get; set; } = 2;
    /// <summary>attractor_kind: how the attractors' pulls on a bin centre combine.</summary>
    public AttractorKind AttractorKind { get; set; } = AttractorKind.Mean;
    /// <summary>min_temp: the lower bound of the log-binomial softmax's temperature.</summary>
    public double MinTemp { get; set; } = 0.0212;
    /// <summary>max_temp: the upper bound of the log-binomial softmax's temperature.</summary>
    public double MaxTemp { get; set; } = 50.0;
    /// <summary>bin_centers_type: how the bin centres are bounded.</summary>
    public BinCentersType BinCentersType { get; set; } = BinCentersType.Softplus;
    /// <summary>bin_configurations: one metric head per entry; two or more add a router that picks one per picture batch (ZoeD-NK).</summary>
    public List<ZoeDepthBinConfiguration> BinConfigurations { get; set; } = [new() { NBins = 64, MinDepth = 0.001, MaxDepth = 10.0 }];
    /// <summary>num_patch_transformer_layers: the router transformer's layer count; required with several heads, at least 4 (the reference runs exactly four).</summary>
    public int? NumPatchTransformerLayers { get; set; }
    /// <summary>patch_transformer_hidden_size: the router transformer's width; required with several heads, and must be 128 (the router's classifier takes 128 features).</summary>
    public int? PatchTransformerHiddenSize { get; set; }
    /// <summary>patch_transformer_intermediate_size: the router transformer's MLP width; required with several heads.</summary>
    public int? PatchTransformerIntermediateSize { get; set; }
    /// <summary>patch_transformer_num_attention_heads: the router transformer's attention heads; required with several heads.</summary>
    public int? PatchTransformerNumAttentionHeads { get; set; }

    /// <summary>The file's other keys (segmentation heads, id2label, architectures, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] internal BeitConfig BeitBackbone => BackboneConfig!;

    /// <summary>Two or more bin configurations: a router picks one head per batch.</summary>
    [JsonIgnore] internal bool HasMultipleHeads => BinConfigurations.Count > 1;

    /// <summary>The router's classifier takes this many features, fixed in the reference whatever the config says.</summary>
    internal const int RouterFeatures = 128;

    /// <summary>The router's transformer always runs this many layers (the reference's loop is fixed).</summary>
    internal const int RouterLayers = 4;

    /// <summary>The projector count is fixed at four in the reference, one per fused feature map.</summary>
    internal const int Projectors = 4;

    /// <summary>The reference's BEiT-L backbone when none is given.</summary>
    private static BeitConfig DefaultBackbone() => new()
    {
        ImageSize = 384,
        NumHiddenLayers = 24,
        HiddenSize = 1024,
        IntermediateSize = 4096,
        NumAttentionHeads = 16,
        UseRelativePositionBias = true,
        ReshapeHiddenStates = false,
        OutFeatures = ["stage6", "stage12", "stage18", "stage24"],
    };

    /// <summary>Fills an absent backbone with the reference's default BEiT, then validates everything.</summary>
    /// <param name="file">The config's file, named in errors; null when none.</param>
    /// <exception cref="ConfigException">A value is missing, unsupported or impossible (the message names the field).</exception>
    public void Complete(string? file)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{field}: {why}");
        if (UsePretrainedBackbone) Fail("use_pretrained_backbone", "pretrained backbones are not supported (the reference refuses them too)");
        if (Backbone is not null)
            Fail("backbone", $"a backbone named by checkpoint ('{Backbone}') is not supported; give backbone_config instead");
        if (BackboneKwargs is { Count: > 0 }) Fail("backbone_kwargs", "not supported; give backbone_config instead");
        BackboneConfig ??= DefaultBackbone();
        Validate(file, Fail);
    }

    private void Validate(string? file, Action<string, string> fail)
    {
        if (ModelType != "zoedepth") fail("model_type", $"expected 'zoedepth', got '{ModelType}'");
        BeitBackbone.Validate(file, "backbone_config.");
        if (BeitBackbone.ReshapeHiddenStates)
            fail("backbone_config.reshape_hidden_states", "must be false: the neck reads the backbone's token sequences with the class token");
        if (BeitBackbone.AddFpn) fail("backbone_config.add_fpn", "must be false: the neck reads the backbone's token sequences");
        if (!(BatchNormEps > 0)) fail("batch_norm_eps", $"must be positive, got {BatchNormEps}");
        ValidateNeck(fail);
        ValidateHeads(fail);
    }

    private void ValidateNeck(Action<string, string> fail)
    {
        int stages = NeckHiddenSizes.Count;
        if (stages == 0) fail("neck_hidden_sizes", "must not be empty");
        if (NeckHiddenSizes.Any(s => s <= 0)) fail("neck_hidden_sizes", "must be positive");
        if (ReassembleFactors.Count != stages)
            fail("reassemble_factors", $"has {ReassembleFactors.Count} entries but neck_hidden_sizes has {stages}");
        foreach (double f in ReassembleFactors)
        {
            if (!(f > 0) || !double.IsFinite(f)) fail("reassemble_factors", $"{f} is not a positive factor");
            if (f > 1 && f != Math.Floor(f)) fail("reassemble_factors", $"{f}: an upsampling factor must be a whole number (it is a kernel size)");
        }
        if (BeitBackbone.OutStageIndices.Count != stages)
            fail("backbone_config.out_features", $"the backbone gives {BeitBackbone.OutStageIndices.Count} feature maps but neck_hidden_sizes has {stages}");
        if (FusionHiddenSize < 2) fail("fusion_hidden_size", $"must be at least 2 (the relative head halves it), got {FusionHiddenSize}");
        if (HeadInIndex < -stages || HeadInIndex >= stages) fail("head_in_index", $"{HeadInIndex} is not an index into the {stages} fused maps");
        if (AddProjection && FusionHiddenSize != 256)
            fail("add_projection", $"the reference's extra projection takes 256 channels, fusion_hidden_size is {FusionHiddenSize}");
        if (NumRelativeFeatures <= 0) fail("num_relative_features", $"must be positive, got {NumRelativeFeatures}");
    }

    private void ValidateHeads(Action<string, string> fail)
    {
        if (BottleneckFeatures != FusionHiddenSize)
            fail("bottleneck_features", $"{BottleneckFeatures} must equal fusion_hidden_size {FusionHiddenSize}: the bottleneck is a fused-width feature map");
        if (BinEmbeddingDim < (HasMultipleHeads ? 2 : 1))
            fail("bin_embedding_dim", $"{BinEmbeddingDim} is too small{(HasMultipleHeads ? " (the heads use half of it as their hidden width)" : "")}");
        if (!double.IsFinite(MinTemp) || !double.IsFinite(MaxTemp)) fail("min_temp", "min_temp and max_temp must be finite");
        if (NumAttractors.Any(n => n <= 0)) fail("num_attractors", "must be positive");
        int needed = HasMultipleHeads ? 1 : Projectors;
        if (NumAttractors.Count < needed)
            fail("num_attractors", $"has {NumAttractors.Count} entries; the {(HasMultipleHeads ? "heads need at least one" : "head needs one per projector (4)")}");
        ValidateBins(fail);
        if (HasMultipleHeads) ValidateRouter(fail);
    }

    private void ValidateBins(Action<string, string> fail)
    {
        if (BinConfigurations.Count == 0) fail("bin_configurations", "must not be empty");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < BinConfigurations.Count; i++)
        {
            var b = BinConfigurations[i];
            string at = $"bin_configurations[{i}]";
            if (b is null) { fail(at, "must be an object"); return; }
            if (b.NBins is null) fail($"{at}.n_bins", "missing");
            if (b.NBins < 1) fail($"{at}.n_bins", $"must be at least 1, got {b.NBins}");
            if (b.MinDepth is null) fail($"{at}.min_depth", "missing");
            if (b.MaxDepth is null) fail($"{at}.max_depth", "missing");
            if (!double.IsFinite(b.Min) || !double.IsFinite(b.Max)) fail($"{at}.min_depth", "min_depth and max_depth must be finite");
            if (!(b.Max > b.Min)) fail($"{at}.max_depth", $"{b.Max} must be greater than min_depth {b.Min}: the bins span that range");
            if (!HasMultipleHeads) continue;
            // With several heads the name is the key of each head's modules (and what the router reports).
            if (string.IsNullOrEmpty(b.Name)) fail($"{at}.name", "missing; every head needs a name when there are several");
            if (b.Name!.Contains('.')) fail($"{at}.name", $"'{b.Name}' must not contain '.': it is part of the head's parameter names");
            if (!names.Add(b.Name)) fail($"{at}.name", $"'{b.Name}' is used twice; each head needs its own name");
        }
    }

    private void ValidateRouter(Action<string, string> fail)
    {
        const string why = "is needed with several bin configurations";
        if (NumPatchTransformerLayers is not int layers) { fail("num_patch_transformer_layers", why); return; }
        if (layers < RouterLayers) fail("num_patch_transformer_layers", $"must be at least {RouterLayers}: the router runs {RouterLayers} layers, got {layers}");
        if (layers > ConfigLoader.MaxLayers) fail("num_patch_transformer_layers", $"must be at most {ConfigLoader.MaxLayers}, got {layers}");
        if (PatchTransformerHiddenSize is not int hidden) { fail("patch_transformer_hidden_size", why); return; }
        if (hidden != RouterFeatures)
            fail("patch_transformer_hidden_size", $"must be {RouterFeatures}: the router's classifier takes {RouterFeatures} features, got {hidden}");
        if (PatchTransformerIntermediateSize is not int inter) { fail("patch_transformer_intermediate_size", why); return; }
        if (inter <= 0) fail("patch_transformer_intermediate_size", $"must be positive, got {inter}");
        if (PatchTransformerNumAttentionHeads is not int heads) { fail("patch_transformer_num_attention_heads", why); return; }
        if (heads <= 0 || hidden % heads != 0) fail("patch_transformer_num_attention_heads", $"{heads} does not divide patch_transformer_hidden_size {hidden}");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ZoeDepthConfig))]
internal sealed partial class ZoeDepthConfigJson : JsonSerializerContext;

internal sealed class BinCentersTypeJson() : ConfigEnumConverter<BinCentersType>(
    ("normed", BinCentersType.Normed), ("softplus", BinCentersType.Softplus));

internal sealed class AttractorKindJson() : ConfigEnumConverter<AttractorKind>(
    ("mean", AttractorKind.Mean), ("sum", AttractorKind.Sum));
