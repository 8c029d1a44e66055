using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>transformers' PromptDepthAnythingConfig: names as in config.json, defaults as the reference's.</summary>
public sealed class PromptDepthAnythingConfig : IPretrainedConfig
{
    /// <summary>Must be "prompt_depth_anything".</summary>
    public string ModelType { get; set; } = "prompt_depth_anything";
    /// <summary>The DINOv2 backbone; absent, the reference's default (DINOv2-small at 518, stages 9–12).</summary>
    public Dinov2Config? BackboneConfig { get; set; }
    /// <summary>A named (timm or Hub) backbone; only an inline backbone_config is supported.</summary>
    public string? Backbone { get; set; }
    /// <summary>Whether the reference would fetch pretrained backbone weights; the checkpoint holds them either way.</summary>
    public bool UsePretrainedBackbone { get; set; }
    /// <summary>timm backbones are not supported.</summary>
    public bool UseTimmBackbone { get; set; }
    /// <summary>Arguments for a named backbone; the reference refuses them beside a backbone_config.</summary>
    public Dictionary<string, JsonElement>? BackboneKwargs { get; set; }
    /// <summary>The patch size that sets the token grid and the head's output size.</summary>
    public int PatchSize { get; set; } = 14;
    /// <summary>Training only.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>Width of the backbone's tokens as the reassemble layers take them.</summary>
    public int ReassembleHiddenSize { get; set; } = 384;
    /// <summary>Up (whole numbers) or down (fractions) sampling of each reassembled map.</summary>
    public List<double> ReassembleFactors { get; set; } = [4, 2, 1, 0.5];
    /// <summary>Channels of each reassembled map.</summary>
    public List<int> NeckHiddenSizes { get; set; } = [48, 96, 192, 384];
    /// <summary>Channels of the fused maps and of the prompt's features.</summary>
    public int FusionHiddenSize { get; set; } = 64;
    /// <summary>Stored for fidelity: the reference's head reads the last fused map whatever this says.</summary>
    public int HeadInIndex { get; set; } = -1;
    /// <summary>Channels of the head's second convolution.</summary>
    public int HeadHiddenSize { get; set; } = 32;
    /// <summary>Relative (ReLU ending) or metric (sigmoid ending, scaled by the prompt's range); the released checkpoints are metric.</summary>
    public DepthEstimationType DepthEstimationType { get; set; } = DepthEstimationType.Relative;
    /// <summary>Stored for fidelity: the reference keeps it (1 when absent) but its head does not apply it.</summary>
    public double? MaxDepth { get; set; }

    /// <summary>Keys this class does not model, kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The backbone's configuration; set once <see cref="Complete"/> has run.</summary>
    [JsonIgnore] public Dinov2Config BackboneModel => BackboneConfig!;

    /// <summary>Reads and validates a config.json.</summary>
    public static PromptDepthAnythingConfig Load(string path) =>
        ConfigLoader.Load(path, PromptDepthAnythingConfigJson.Default.PromptDepthAnythingConfig);

    /// <summary>Fills an absent backbone with the reference's default, then validates; <paramref name="file"/> names the config in errors.</summary>
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
        if (ModelType != "prompt_depth_anything") Fail("model_type", $"expected 'prompt_depth_anything', got '{ModelType}'");
        if (Backbone is not null) Fail("backbone", $"named backbones ('{Backbone}') are not supported; give backbone_config");
        if (UseTimmBackbone) Fail("use_timm_backbone", "timm backbones are not supported");
        if (BackboneKwargs is { Count: > 0 }) Fail("backbone_kwargs", "cannot be given with backbone_config");
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
        // The head reads the last fused map whatever head_in_index says, so any value of it is valid here.
        NeckChecks.Validate(Fail, NeckHiddenSizes, ReassembleFactors, FusionHiddenSize, headInIndex: -1);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(PromptDepthAnythingConfig))]
internal sealed partial class PromptDepthAnythingConfigJson : JsonSerializerContext;
