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
    /// <summary>
    /// The user's input size (<see cref="Pipeline.DepthEstimatorOptions.InputSize"/>), not a config.json key: processors
    /// that resize to <see cref="Size"/> get it there; GLPN's, which has no size and floors the picture's own, resizes to it.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Pipeline.InputSize? InputSizeOverride { get; set; }
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

    public static ImageProcessorConfig Load(string path)
    {
        var config = ConfigLoader.Deserialize(path, ProcessorJsonContext.Default.ImageProcessorConfig);
        if (string.IsNullOrEmpty(config.ImageProcessorType))
            throw new ConfigException(path, "image_processor_type: missing");
        if (config.EnsureMultipleOf is int m && m is < 1 or > MaxMultiple)
            throw new ConfigException(path, $"ensure_multiple_of: must be 1 to {MaxMultiple}, got {m}");
        if (config.SizeDivisor is int d && d is < 1 or > MaxMultiple)
            throw new ConfigException(path, $"size_divisor: must be 1 to {MaxMultiple}, got {d}");
        return config;
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
