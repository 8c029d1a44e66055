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
    /// <param name="path">The config.json.</param>
    /// <exception cref="ConfigException">The file is missing, unreadable or not valid JSON, a field has the wrong type, or a value is missing, unsupported or impossible (the message names the field).</exception>
    public static DepthAnythingConfig Load(string path) => ConfigLoader.Load(path, DepthAnythingConfigJson.Default.DepthAnythingConfig);

    /// <summary>model_type: "depth_anything".</summary>
    public string ModelType { get; set; } = "depth_anything";
    /// <summary>backbone_config: the DINOv2 backbone; null: the reference's default (DINOv2-small at 518, stages 9–12), filled in by <see cref="Load"/>.</summary>
    public Dinov2Config? BackboneConfig { get; set; }
    /// <summary>A named (timm or Hub) backbone; only an inline backbone_config is supported.</summary>
    public string? Backbone { get; set; }
    /// <summary>use_timm_backbone: must be false: only transformers' own backbones are supported.</summary>
    public bool UseTimmBackbone { get; set; }
    /// <summary>patch_size: the backbone's patch size in pixels; the token grid is the picture's size over it.</summary>
    public int PatchSize { get; set; } = 14;
    /// <summary>initializer_range: the training initialiser's standard deviation, kept for the file; loading ignores it.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>reassemble_hidden_size: width of the backbone tokens the neck reassembles (the backbone's hidden_size).</summary>
    public int ReassembleHiddenSize { get; set; } = 384;
    /// <summary>reassemble_factors: per neck level, the factor each token map is resized by (4, 2, 1, 0.5: up ×4 to down ×2).</summary>
    public List<double> ReassembleFactors { get; set; } = [4, 2, 1, 0.5];
    /// <summary>neck_hidden_sizes: per neck level, the channels of the reassembled map.</summary>
    public List<int> NeckHiddenSizes { get; set; } = [48, 96, 192, 384];
    /// <summary>fusion_hidden_size: channels of the feature fusion stage and the head's input.</summary>
    public int FusionHiddenSize { get; set; } = 64;
    /// <summary>head_in_index: which fusion output the head reads; -1, the last (finest), is the only one used.</summary>
    public int HeadInIndex { get; set; } = -1;
    /// <summary>head_hidden_size: channels of the head's last hidden convolution.</summary>
    public int HeadHiddenSize { get; set; } = 32;
    /// <summary>Relative (ReLU ending, inverse depth) or metric (sigmoid × max_depth, metres).</summary>
    public DepthEstimationType DepthEstimationType { get; set; } = DepthEstimationType.Relative;
    /// <summary>max_depth: for metric models, the depth in metres the sigmoid output is scaled to; null or 0: 1.</summary>
    public double? MaxDepth { get; set; }

    /// <summary>The file's other keys (segmentation heads, id2label, architectures, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] internal Dinov2Config BackboneModel => BackboneConfig!;

    /// <summary>The head's final scale: the reference keeps max_depth when it is truthy, else 1.</summary>
    [JsonIgnore] internal double MaxDepthScale => MaxDepth is double d && d != 0 ? d : 1;

    /// <summary>Fills an absent backbone with the reference's default (DINOv2-small at 518, stages 9–12), then validates.</summary>
    /// <param name="file">The config's file, named in errors; null when none.</param>
    /// <exception cref="ConfigException">A value is missing, unsupported or impossible (the message names the field).</exception>
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
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(DepthAnythingConfig))]
internal sealed partial class DepthAnythingConfigJson : JsonSerializerContext;

internal sealed class DepthEstimationTypeJson() : ConfigEnumConverter<DepthEstimationType>(
    ("relative", DepthEstimationType.Relative), ("metric", DepthEstimationType.Metric));
