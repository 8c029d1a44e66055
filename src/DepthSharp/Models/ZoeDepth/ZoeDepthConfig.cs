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
    public string? Name { get; set; }
    public int? NBins { get; set; }
    public double? MinDepth { get; set; }
    public double? MaxDepth { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>Values for code that runs after validation (which guarantees them).</summary>
    [JsonIgnore] public int Bins => NBins!.Value;
    [JsonIgnore] public double Min => MinDepth!.Value;
    [JsonIgnore] public double Max => MaxDepth!.Value;
}

/// <summary>transformers' ZoeDepthConfig: names as in config.json, defaults as the reference's.</summary>
public sealed class ZoeDepthConfig : IPretrainedConfig
{
    /// <summary>Reads a zoedepth config.json, fills an absent backbone with the reference's default BEiT and validates it.</summary>
    public static ZoeDepthConfig Load(string path) => ConfigLoader.Load(path, ZoeDepthConfigJson.Default.ZoeDepthConfig);

    public string ModelType { get; set; } = "zoedepth";
    public BeitConfig? BackboneConfig { get; set; }
    public string? Backbone { get; set; }
    public bool UsePretrainedBackbone { get; set; }
    public Dictionary<string, JsonElement>? BackboneKwargs { get; set; }
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    public double InitializerRange { get; set; } = 0.02;
    public double BatchNormEps { get; set; } = 1e-5;
    public ReadoutType ReadoutType { get; set; } = ReadoutType.Project;
    public List<double> ReassembleFactors { get; set; } = [4, 2, 1, 0.5];
    public List<int> NeckHiddenSizes { get; set; } = [96, 192, 384, 768];
    public int FusionHiddenSize { get; set; } = 256;
    public int HeadInIndex { get; set; } = -1;
    public bool UseBatchNormInFusionResidual { get; set; }
    public bool? UseBiasInFusionResidual { get; set; }
    public int NumRelativeFeatures { get; set; } = 32;
    public bool AddProjection { get; set; }
    public int BottleneckFeatures { get; set; } = 256;
    public List<int> NumAttractors { get; set; } = [16, 8, 4, 1];
    public int BinEmbeddingDim { get; set; } = 128;
    public double AttractorAlpha { get; set; } = 1000;
    public double AttractorGamma { get; set; } = 2;
    public AttractorKind AttractorKind { get; set; } = AttractorKind.Mean;
    public double MinTemp { get; set; } = 0.0212;
    public double MaxTemp { get; set; } = 50.0;
    public BinCentersType BinCentersType { get; set; } = BinCentersType.Softplus;
    public List<ZoeDepthBinConfiguration> BinConfigurations { get; set; } = [new() { NBins = 64, MinDepth = 0.001, MaxDepth = 10.0 }];
    public int? NumPatchTransformerLayers { get; set; }
    public int? PatchTransformerHiddenSize { get; set; }
    public int? PatchTransformerIntermediateSize { get; set; }
    public int? PatchTransformerNumAttentionHeads { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] public BeitConfig BeitBackbone => BackboneConfig!;

    /// <summary>Two or more bin configurations: a router picks one head per batch.</summary>
    [JsonIgnore] public bool HasMultipleHeads => BinConfigurations.Count > 1;

    /// <summary>The router's classifier takes this many features, fixed in the reference whatever the config says.</summary>
    public const int RouterFeatures = 128;

    /// <summary>The router's transformer always runs this many layers (the reference's loop is fixed).</summary>
    public const int RouterLayers = 4;

    /// <summary>The projector count is fixed at four in the reference, one per fused feature map.</summary>
    public const int Projectors = 4;

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
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ZoeDepthConfig))]
internal sealed partial class ZoeDepthConfigJson : JsonSerializerContext;

internal sealed class BinCentersTypeJson() : ConfigEnumConverter<BinCentersType>(
    ("normed", BinCentersType.Normed), ("softplus", BinCentersType.Softplus));

internal sealed class AttractorKindJson() : ConfigEnumConverter<AttractorKind>(
    ("mean", AttractorKind.Mean), ("sum", AttractorKind.Sum));
