using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>Depth Anything's <c>depth_estimation_type</c>.</summary>
[JsonConverter(typeof(DepthEstimationTypeJson))]
public enum DepthEstimationType
{
    /// <summary>"relative": relative inverse depth (ReLU ending).</summary>
    Relative,
    /// <summary>"metric": metres (sigmoid × max_depth ending).</summary>
    Metric,
}

/// <summary>transformers' DepthAnythingConfig: names as in config.json, defaults as the reference's.</summary>
public sealed class DepthAnythingConfig : IPretrainedConfig
{
    /// <summary>Reads a depth_anything config.json, fills an absent backbone with the reference's default and validates it.</summary>
    public static DepthAnythingConfig Load(string path) => ConfigLoader.Load(path, DepthAnythingConfigJson.Default.DepthAnythingConfig);

    public string ModelType { get; set; } = "depth_anything";
    public Dinov2Config? BackboneConfig { get; set; }
    /// <summary>A named (timm or Hub) backbone; only an inline backbone_config is supported.</summary>
    public string? Backbone { get; set; }
    public bool UseTimmBackbone { get; set; }
    public int PatchSize { get; set; } = 14;
    public double InitializerRange { get; set; } = 0.02;
    public int ReassembleHiddenSize { get; set; } = 384;
    public List<double> ReassembleFactors { get; set; } = [4, 2, 1, 0.5];
    public List<int> NeckHiddenSizes { get; set; } = [48, 96, 192, 384];
    public int FusionHiddenSize { get; set; } = 64;
    public int HeadInIndex { get; set; } = -1;
    public int HeadHiddenSize { get; set; } = 32;
    /// <summary>Relative (ReLU ending, inverse depth) or metric (sigmoid × max_depth, metres).</summary>
    public DepthEstimationType DepthEstimationType { get; set; } = DepthEstimationType.Relative;
    public double? MaxDepth { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] public Dinov2Config BackboneModel => BackboneConfig!;

    /// <summary>The head's final scale: the reference keeps max_depth when it is truthy, else 1.</summary>
    [JsonIgnore] public double MaxDepthScale => MaxDepth is double d && d != 0 ? d : 1;

    /// <summary>Fills an absent backbone with the reference's default (DINOv2-small at 518, stages 9–12), then validates.</summary>
    public void Complete(string? file)
    {
        if (BackboneConfig is null && Backbone is null)
            BackboneConfig = new Dinov2Config
            {
                ImageSize = 518, HiddenSize = 384, NumAttentionHeads = 6, OutIndices = [9, 10, 11, 12],
                ApplyLayernorm = true, ReshapeHiddenStates = false,
            };
        Validate(file);
    }

    private void Validate(string? file)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{field}: {why}");
        if (ModelType != "depth_anything") Fail("model_type", $"expected 'depth_anything', got '{ModelType}'");
        if (Backbone is not null) Fail("backbone", $"named backbones ('{Backbone}') are not supported; give backbone_config");
        if (UseTimmBackbone) Fail("use_timm_backbone", "timm backbones are not supported");
        if (!double.IsFinite(MaxDepthScale)) Fail("max_depth", $"must be finite, got {MaxDepth}");
        if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
        if (HeadHiddenSize <= 0) Fail("head_hidden_size", $"must be positive, got {HeadHiddenSize}");
        BackboneModel.Validate(file, "backbone_config.");
        if (BackboneModel.ReshapeHiddenStates)
            Fail("backbone_config.reshape_hidden_states", "must be false: the neck reads the token sequences");
        if (PatchSize != BackboneModel.PatchSize)
            Fail("patch_size", $"{PatchSize} differs from backbone_config.patch_size {BackboneModel.PatchSize}");
        if (ReassembleHiddenSize != BackboneModel.HiddenSize)
            Fail("reassemble_hidden_size", $"{ReassembleHiddenSize} differs from backbone_config.hidden_size {BackboneModel.HiddenSize}");
        if (BackboneModel.OutStageIndices.Length != NeckHiddenSizes.Count)
            Fail("neck_hidden_sizes", $"has {NeckHiddenSizes.Count} entries but the backbone returns {BackboneModel.OutStageIndices.Length} stages");
        NeckChecks.Validate(Fail, NeckHiddenSizes, ReassembleFactors, FusionHiddenSize, HeadInIndex);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DepthAnythingConfig))]
internal sealed partial class DepthAnythingConfigJson : JsonSerializerContext;

internal sealed class DepthEstimationTypeJson() : ConfigEnumConverter<DepthEstimationType>(
    ("relative", DepthEstimationType.Relative), ("metric", DepthEstimationType.Metric));
