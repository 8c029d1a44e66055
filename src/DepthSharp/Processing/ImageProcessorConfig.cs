using System.Text.Json;
using System.Text.Json.Serialization;
using DepthSharp.Models.Configs;

namespace DepthSharp.Processing;

/// <summary>
/// preprocessor_config.json: the fields the depth processors share; other keys are kept in <see cref="Extra"/>. A new
/// instance (no file) leaves every processor-specific field unset, which gives each processor its reference defaults.
/// </summary>
public sealed class ImageProcessorConfig
{
    public string? ImageProcessorType { get; set; }
    public bool DoResize { get; set; } = true;
    public Dictionary<string, int>? Size { get; set; }
    /// <summary>PIL resampling filter number (0 nearest, 1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming); null: the processor's default.</summary>
    public int? Resample { get; set; }
    public bool DoRescale { get; set; } = true;
    public double RescaleFactor { get; set; } = 1 / 255.0;
    public bool DoNormalize { get; set; } = true;
    public List<double>? ImageMean { get; set; }
    public List<double>? ImageStd { get; set; }
    // Fields some processors share with different defaults (null: the processor's own).
    public bool? KeepAspectRatio { get; set; }
    public int? EnsureMultipleOf { get; set; }
    public bool? DoPad { get; set; }
    public int? SizeDivisor { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    public static ImageProcessorConfig Load(string path)
    {
        var config = ConfigLoader.Deserialize(path, ProcessorJsonContext.Default.ImageProcessorConfig);
        if (string.IsNullOrEmpty(config.ImageProcessorType))
            throw new ConfigException(path, "image_processor_type: missing");
        return config;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(ImageProcessorConfig))]
internal sealed partial class ProcessorJsonContext : JsonSerializerContext;
