using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>transformers' DepthProConfig: names as in config.json, defaults as the reference's.</summary>
public sealed class DepthProConfig : IPretrainedConfig
{
    /// <summary>Reads a depth_pro config.json, fills absent backbones with the reference's defaults and validates it.</summary>
    /// <param name="path">The config.json.</param>
    /// <exception cref="ConfigException">The file is missing, unreadable or not valid JSON, a field has the wrong type, or a value is missing, unsupported or impossible (the message names the field).</exception>
    public static DepthProConfig Load(string path) => ConfigLoader.Load(path, DepthProConfigJson.Default.DepthProConfig);

    /// <summary>model_type: "depth_pro".</summary>
    public string ModelType { get; set; } = "depth_pro";
    /// <summary>fusion_hidden_size: channels of the feature fusion stage and the head's input.</summary>
    public int FusionHiddenSize { get; set; } = 256;
    /// <summary>patch_size: side in pixels of the square patches the encoders see (384); each backbone's image_size is forced to it.</summary>
    public int PatchSize { get; set; } = 384;
    /// <summary>initializer_range: the training initialiser's standard deviation, kept for the file; loading ignores it.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>intermediate_hook_ids: the patch encoder layers whose outputs also feed the neck (highest-resolution features).</summary>
    public List<int> IntermediateHookIds { get; set; } = [11, 5];
    /// <summary>intermediate_feature_dims: channels of the upsampled maps from those hooked layers.</summary>
    public List<int> IntermediateFeatureDims { get; set; } = [256, 256];
    /// <summary>scaled_images_ratios: the picture's scales that are cut into patches, smallest first (1 = the full 1536 input).</summary>
    public List<double> ScaledImagesRatios { get; set; } = [0.25, 0.5, 1];
    /// <summary>scaled_images_overlap_ratios: per scale, the fraction by which neighbouring patches overlap.</summary>
    public List<double> ScaledImagesOverlapRatios { get; set; } = [0.0, 0.5, 0.25];
    /// <summary>scaled_images_feature_dims: per scale, channels of its upsampled feature map.</summary>
    public List<int> ScaledImagesFeatureDims { get; set; } = [1024, 1024, 512];
    /// <summary>merge_padding_value: pixels of overlap trimmed from each patch's features when they are merged back.</summary>
    public int MergePaddingValue { get; set; } = 3;
    /// <summary>use_batch_norm_in_fusion_residual: batch norm in the fusion stage's residual units.</summary>
    public bool UseBatchNormInFusionResidual { get; set; }
    /// <summary>use_bias_in_fusion_residual: biases on the residual units' convolutions (default true).</summary>
    public bool? UseBiasInFusionResidual { get; set; } = true;
    /// <summary>use_fov_model: build the field-of-view head, which estimates the focal length (apple/DepthPro-hf has one).</summary>
    public bool UseFovModel { get; set; }
    /// <summary>num_fov_head_layers: strided convolutions in the field-of-view head.</summary>
    public int NumFovHeadLayers { get; set; } = 2;
    /// <summary>image_model_config: the DINOv2 encoder of the whole downscaled picture; null: the reference's default, filled in by <see cref="Load"/>.</summary>
    public Dinov2Config? ImageModelConfig { get; set; }
    /// <summary>patch_model_config: the DINOv2 encoder of the patches; null: the reference's default, filled in by <see cref="Load"/>.</summary>
    public Dinov2Config? PatchModelConfig { get; set; }
    /// <summary>fov_model_config: the DINOv2 encoder of the field-of-view head; null: the reference's default, filled in by <see cref="Load"/>.</summary>
    public Dinov2Config? FovModelConfig { get; set; }

    /// <summary>The file's other keys (segmentation heads, id2label, architectures, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] internal Dinov2Config ImageModel => ImageModelConfig!;
    [JsonIgnore] internal Dinov2Config PatchModel => PatchModelConfig!;
    [JsonIgnore] internal Dinov2Config FovModel => FovModelConfig!;

    /// <summary>Fills absent backbones with Dinov2 defaults and, as the reference does, forces their image_size to patch_size; then validates.</summary>
    /// <param name="file">The config's file, named in errors; null when none.</param>
    /// <exception cref="ConfigException">A value is missing, unsupported or impossible (the message names the field).</exception>
    public void Complete(string? file)
    {
        ImageModelConfig ??= new Dinov2Config();
        PatchModelConfig ??= new Dinov2Config();
        FovModelConfig ??= new Dinov2Config();
        foreach (var sub in new[] { ImageModelConfig, PatchModelConfig, FovModelConfig }) sub.ImageSize = PatchSize;
        Validate(file);
    }

    private void Validate(string? file)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{field}: {why}");
        if (ModelType != "depth_pro") Fail("model_type", $"expected 'depth_pro', got '{ModelType}'");
        if (FusionHiddenSize <= 0) Fail("fusion_hidden_size", $"must be positive, got {FusionHiddenSize}");
        if (PatchSize <= 0) Fail("patch_size", $"must be positive, got {PatchSize}");
        if (ScaledImagesRatios.Count == 0) Fail("scaled_images_ratios", "must not be empty");
        if (!ScaledImagesRatios.SequenceEqual(ScaledImagesRatios.Order())) Fail("scaled_images_ratios", "must be sorted from low to high");
        // Scales of the processor's input, which has the full resolution; a larger one would only grow the patch count.
        if (ScaledImagesRatios.Any(r => !(r > 0 && r <= 1))) Fail("scaled_images_ratios", "must be in (0, 1]: scales of the processor's input");
        if (ScaledImagesOverlapRatios.Count != ScaledImagesRatios.Count || ScaledImagesFeatureDims.Count != ScaledImagesRatios.Count)
            Fail("scaled_images_ratios", $"scaled_images_ratios ({ScaledImagesRatios.Count}), scaled_images_overlap_ratios ({ScaledImagesOverlapRatios.Count}) and scaled_images_feature_dims ({ScaledImagesFeatureDims.Count}) must have the same length");
        if (ScaledImagesOverlapRatios.Any(r => r < 0 || r >= 1)) Fail("scaled_images_overlap_ratios", "must be in [0, 1)");
        if (IntermediateHookIds.Count != IntermediateFeatureDims.Count)
            Fail("intermediate_hook_ids", $"has {IntermediateHookIds.Count} entries but intermediate_feature_dims has {IntermediateFeatureDims.Count}");
        if (ScaledImagesFeatureDims.Concat(IntermediateFeatureDims).Any(d => d <= 0)) Fail("scaled_images_feature_dims", "feature dims must be positive");
        if (NumFovHeadLayers < 0 || FusionHiddenSize >> Math.Min(NumFovHeadLayers, 30) == 0)
            Fail("num_fov_head_layers", $"fusion_hidden_size {FusionHiddenSize} // 2^{NumFovHeadLayers} must be positive");
        if (MergePaddingValue < 0) Fail("merge_padding_value", $"must not be negative, got {MergePaddingValue}");
        ImageModel.Validate(file, "image_model_config.");
        PatchModel.Validate(file, "patch_model_config.");
        FovModel.Validate(file, "fov_model_config.");
        foreach (int hook in IntermediateHookIds)
            if (hook < 0 || hook >= PatchModel.NumHiddenLayers)
                Fail("intermediate_hook_ids", $"{hook} is not a layer of the patch encoder (0..{PatchModel.NumHiddenLayers - 1})");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(DepthProConfig))]
internal sealed partial class DepthProConfigJson : JsonSerializerContext;
