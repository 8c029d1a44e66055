using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' DepthProImageProcessor: rescale and normalise the 8-bit picture in float32, then resize the float image
/// bilinearly (align_corners false) to the configured size.
/// </summary>
public sealed class DepthProImageProcessor : IImageProcessor<DepthProImageProcessor>
{
    /// <inheritdoc/>
    public static IReadOnlyList<string> ImageProcessorTypes { get; } = ["DepthProImageProcessor", "DepthProImageProcessorFast"];

    /// <inheritdoc/>
    public static DepthProImageProcessor Create(ImageProcessorConfig config, string? file) => new(config, file);

    /// <summary>size["height"]: the height in pixels every picture is resized to (default 1536).</summary>
    public int Height { get; }

    /// <summary>size["width"]: the width in pixels every picture is resized to (default 1536).</summary>
    public int Width { get; }

    /// <summary>resample as torch's mode for the float resize: 2 bilinear (the default), 3 bicubic.</summary>
    public InterpolationMode Resample { get; }

    /// <summary>The fields it was made from.</summary>
    public ImageProcessorConfig Config { get; }
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>The processor for preprocessor_config.json's fields; unset fields take the reference class's defaults.</summary>
    /// <param name="config">The fields (an empty config: every default).</param>
    /// <param name="file">The file they came from, named in errors; null when none.</param>
    /// <exception cref="ConfigException">size lacks height or width or is not positive, resample is not a filter the class takes, image_mean or image_std has other than 1 or 3 values or a zero std.</exception>
    public DepthProImageProcessor(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        (Height, Width) = config.HeightWidth(1536, 1536, file);
        Resample = PilResample.ToTorch(config.Resample ?? 2, file);
        _mean = Channels(config.ImageMean, 0.5, "image_mean", file);
        _std = Channels(config.ImageStd, 0.5, "image_std", file);
        if (_std.Any(s => s == 0)) throw new ConfigException(file, "image_std: must not be zero");
    }

    private static float[] Channels(List<double>? values, double fallback, string field, string? file)
    {
        if (values is null) return [(float)fallback, (float)fallback, (float)fallback];
        if (values.Count == 1) return [(float)values[0], (float)values[0], (float)values[0]];
        if (values.Count != 3) throw new ConfigException(file, $"{field}: expected 3 values, got {values.Count}");
        return values.Select(v => (float)v).ToArray();
    }

    /// <summary>Rescaled and normalised [3, H, W] at the picture's own size.</summary>
    /// <param name="image">The picture.</param>
    public Tensor Normalize(RgbImage image)
    {
        int h = image.Height, w = image.Width, plane = h * w;
        var t = Tensor.Empty(3, h, w);
        var px = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            float mean = Config.DoNormalize ? _mean[c] : 0f, std = Config.DoNormalize ? _std[c] : 1f;
            var dst = t.Data.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                // The reference rescales in float64 and stores float32 before normalising in float32.
                float v = Config.DoRescale ? (float)(px[i * 3 + c] * Config.RescaleFactor) : px[i * 3 + c];
                dst[i] = Config.DoNormalize ? (v - mean) / std : v;
            }
        }
        return t;
    }

    /// <summary>The pixel_values [batch, 3, H, W] of the pictures, in order, as the reference's processor gives them.</summary>
    /// <param name="images">One or more pictures that come out at the same size.</param>
    /// <exception cref="ArgumentException">No pictures, pictures whose pixel values differ in size, or a picture too small to resize.</exception>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0) throw new ArgumentException("no images");
        var parts = new Tensor[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var x = Normalize(images[i]);
            if (Config.DoResize) x = Ops.Interpolate(x.Reshape(1, 3, x.Dim(1), x.Dim(2)), Height, Width, Resample, alignCorners: false);
            parts[i] = x.Reshape(1, 3, x.Dim(-2), x.Dim(-1));
        }
        if (parts.Any(p => p.Dim(2) != parts[0].Dim(2) || p.Dim(3) != parts[0].Dim(3)))
            throw new ArgumentException("pictures of different sizes cannot form one batch without resizing");
        return parts.Length == 1 ? parts[0] : Ops.Concat(0, parts);
    }
}

/// <summary>Maps PIL's resampling filter numbers to the torch modes the processors use for float resizing.</summary>
internal static class PilResample
{
    public static InterpolationMode ToTorch(int resample, string? file) => resample switch
    {
        2 => InterpolationMode.Bilinear,
        3 => InterpolationMode.Bicubic,
        _ => throw new ConfigException(file, $"resample: filter {resample} is not supported (2 bilinear, 3 bicubic)"),
    };
}
