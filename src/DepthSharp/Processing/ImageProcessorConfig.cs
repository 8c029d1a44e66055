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
    /// <summary>
    /// The user's input size (<see cref="Pipeline.DepthEstimatorOptions.InputSize"/>), not a config.json key: processors
    /// that resize to <see cref="Size"/> get it there; GLPN's, which has no size and floors the picture's own, resizes to it.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    internal Pipeline.InputSize? InputSizeOverride { get; set; }

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

    /// <summary>
    /// The largest height or width size may give: DepthPro's 1536, the largest the released checkpoints take, has room to
    /// spare. A config asking for more is broken, and would cost up to gigabytes and seconds per picture.
    /// </summary>
    public const int MaxSide = 2048;

    /// <summary>
    /// The largest model input a processor may make from a picture, in pixels (keeping the aspect ratio of a panorama makes
    /// one side longer than size's): the decoders' limit for a picture.
    /// </summary>
    public const long MaxInputPixels = 100_000_000;

    /// <summary>The largest ensure_multiple_of and size_divisor taken (the released configs use 1 to 32).</summary>
    public const int MaxMultiple = 1024;

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

    /// <summary>ensure_multiple_of, or the processor's default without one: 1 to <see cref="MaxMultiple"/>.</summary>
    internal int EnsureMultipleOfOr(int defaultValue, string? file) => Multiple("ensure_multiple_of", EnsureMultipleOf ?? defaultValue, file);

    /// <summary>size_divisor, or the processor's default (null: none) without one: 1 to <see cref="MaxMultiple"/>.</summary>
    internal int? SizeDivisorOr(int? defaultValue, string? file) => (SizeDivisor ?? defaultValue) is int d ? Multiple("size_divisor", d, file) : null;

    // Checked where a processor takes the value, so a config built in code is held to the file's bounds.
    private static int Multiple(string field, int value, string? file) =>
        value is >= 1 and <= MaxMultiple ? value : throw new ConfigException(file, $"{field}: must be 1 to {MaxMultiple}, got {value}");

    /// <summary>A copy with do_pad off, for a class that pads only when size_divisor is set.</summary>
    internal ImageProcessorConfig WithoutPadding()
    {
        var copy = (ImageProcessorConfig)MemberwiseClone();
        copy.DoPad = false;
        return copy;
    }

    /// <summary>size's height and width, or the processor's default without one: both there, 1 to <see cref="MaxSide"/>.</summary>
    internal (int Height, int Width) HeightWidth(int defaultHeight, int defaultWidth, string? file)
    {
        if (Size is null) return (defaultHeight, defaultWidth);
        if (!Size.TryGetValue("height", out int h) || !Size.TryGetValue("width", out int w))
            throw new ConfigException(file, "size: must have 'height' and 'width'");
        if (h is <= 0 or > MaxSide || w is <= 0 or > MaxSide)
            throw new ConfigException(file, $"size: {h}x{w} is not a usable size (height and width 1 to {MaxSide})");
        return (h, w);
    }

    /// <summary>The processor would make an input of <paramref name="height"/> × <paramref name="width"/> for a picture: refused unless it is one.</summary>
    internal static void CheckOutput(string? file, int pictureWidth, int pictureHeight, int height, int width)
    {
        if (height <= 0 || width <= 0 || (long)height * width > MaxInputPixels)
            throw new ConfigException(file,
                $"a {pictureWidth}x{pictureHeight} picture would become a {width}x{height} model input with these size, ensure_multiple_of and padding settings: {(height <= 0 || width <= 0 ? "empty" : $"more than {MaxInputPixels} pixels")}");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ImageProcessorConfig))]
internal sealed partial class ProcessorJsonContext : JsonSerializerContext;
