using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>transformers' DepthProConfig: names as in config.json, defaults as the reference's.</summary>
public sealed class DepthProConfig : IPretrainedConfig
{
    /// <summary>Reads a depth_pro config.json, fills absent backbones with the reference's defaults and validates it.</summary>
    public static DepthProConfig Load(string path) => ConfigLoader.Load(path, DepthProConfigJson.Default.DepthProConfig);

    public string ModelType { get; set; } = "depth_pro";
    public int FusionHiddenSize { get; set; } = 256;
    public int PatchSize { get; set; } = 384;
    public double InitializerRange { get; set; } = 0.02;
    public List<int> IntermediateHookIds { get; set; } = [11, 5];
    public List<int> IntermediateFeatureDims { get; set; } = [256, 256];
    public List<double> ScaledImagesRatios { get; set; } = [0.25, 0.5, 1];
    public List<double> ScaledImagesOverlapRatios { get; set; } = [0.0, 0.5, 0.25];
    public List<int> ScaledImagesFeatureDims { get; set; } = [1024, 1024, 512];
    public int MergePaddingValue { get; set; } = 3;
    public bool UseBatchNormInFusionResidual { get; set; }
    public bool? UseBiasInFusionResidual { get; set; } = true;
    public bool UseFovModel { get; set; }
    public int NumFovHeadLayers { get; set; } = 2;
    public Dinov2Config? ImageModelConfig { get; set; }
    public Dinov2Config? PatchModelConfig { get; set; }
    public Dinov2Config? FovModelConfig { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    [JsonIgnore] public Dinov2Config ImageModel => ImageModelConfig!;
    [JsonIgnore] public Dinov2Config PatchModel => PatchModelConfig!;
    [JsonIgnore] public Dinov2Config FovModel => FovModelConfig!;

    /// <summary>Fills absent backbones with Dinov2 defaults and, as the reference does, forces their image_size to patch_size; then validates.</summary>
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
        if (ScaledImagesRatios.Any(r => !(r > 0))) Fail("scaled_images_ratios", "must be positive");
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
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DepthProConfig))]
internal sealed partial class DepthProConfigJson : JsonSerializerContext;
