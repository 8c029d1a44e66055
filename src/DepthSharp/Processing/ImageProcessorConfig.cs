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
    /// <summary>image_processor_type: the transformers class, e.g. "DPTImageProcessor" or "ZoeDepthImageProcessorFast"; required in a file.</summary>
    public string? ImageProcessorType { get; set; }

    /// <summary>do_resize: resize to <see cref="Size"/> (default true).</summary>
    public bool DoResize { get; set; } = true;

    /// <summary>size: {"height": h, "width": w} in pixels; null: the processor's default.</summary>
    public Dictionary<string, int>? Size { get; set; }

    /// <summary>PIL resampling filter number (0 nearest, 1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming); null: the processor's default.</summary>
    public int? Resample { get; set; }

    /// <summary>do_rescale: multiply the 8-bit samples by <see cref="RescaleFactor"/> (default true).</summary>
    public bool DoRescale { get; set; } = true;

    /// <summary>rescale_factor: the factor of <see cref="DoRescale"/> (default 1/255, giving 0..1).</summary>
    public double RescaleFactor { get; set; } = 1 / 255.0;

    /// <summary>do_normalize: subtract <see cref="ImageMean"/> and divide by <see cref="ImageStd"/> per channel (default true).</summary>
    public bool DoNormalize { get; set; } = true;

    /// <summary>image_mean: per-channel (R, G, B) mean, 1 or 3 values; null: the processor's default (0.5 each).</summary>
    public List<double>? ImageMean { get; set; }

    /// <summary>image_std: per-channel (R, G, B) standard deviation, 1 or 3 non-zero values; null: the processor's default (0.5 each).</summary>
    public List<double>? ImageStd { get; set; }

    // Fields some processors share with different defaults (null: the processor's own).

    /// <summary>keep_aspect_ratio: resize both sides by one factor; null: the processor's default.</summary>
    public bool? KeepAspectRatio { get; set; }

    /// <summary>ensure_multiple_of: round the resized sides to a multiple of this; null: the processor's default.</summary>
    public int? EnsureMultipleOf { get; set; }

    /// <summary>do_pad: DPT's zero padding to size_divisor, or ZoeDepth's reflection padding; null: the processor's default.</summary>
    public bool? DoPad { get; set; }

    /// <summary>size_divisor: the multiple DPT's do_pad pads to; null when not set.</summary>
    public int? SizeDivisor { get; set; }

    /// <summary>The file's other keys, kept as they are (e.g. image_processor_type-specific fields no depth processor uses).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>Reads a preprocessor_config.json (strict JSON numbers; comments and trailing commas allowed).</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ConfigException">The file is missing or unreadable, is not valid JSON, a field has the wrong type, or image_processor_type is missing.</exception>
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
