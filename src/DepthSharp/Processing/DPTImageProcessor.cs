using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' DPTImageProcessor (DPT and Depth Anything): resize the 8-bit picture with Pillow (output size from
/// keep_aspect_ratio and ensure_multiple_of), rescale and normalise in float32, then optionally centre-pad with zeros
/// to a multiple of size_divisor.
/// </summary>
public sealed class DPTImageProcessor : IImageProcessor<DPTImageProcessor>
{
    /// <inheritdoc/>
    public static IReadOnlyList<string> ImageProcessorTypes { get; } = ["DPTImageProcessor", "DPTImageProcessorFast"];

    /// <inheritdoc/>
    public static DPTImageProcessor Create(ImageProcessorConfig config, string? file) => new(config, file);

    /// <inheritdoc/>
    /// <remarks>The two flavours' pixel values differ (see <see cref="DPTImageProcessorFast"/>).</remarks>
    public static IImageProcessor Create(ImageProcessorConfig config, string? file, ImageProcessorKind kind) =>
        kind.PicksFast(config.ImageProcessorType ?? "DPTImageProcessor") ? new DPTImageProcessorFast(config, file) : new DPTImageProcessor(config, file);

    /// <summary>The fields it was made from.</summary>
    public ImageProcessorConfig Config { get; }

    /// <summary>size["height"]: the target height in pixels (default 384).</summary>
    public int Height { get; }

    /// <summary>size["width"]: the target width in pixels (default 384).</summary>
    public int Width { get; }

    /// <summary>keep_aspect_ratio: scale both sides by the factor closer to 1 instead of to exactly Height × Width (default false).</summary>
    public bool KeepAspectRatio { get; }

    /// <summary>ensure_multiple_of: the resized sides are rounded (half to even) to a multiple of this (default 1).</summary>
    public int EnsureMultipleOf { get; }

    /// <summary>resample: the Pillow filter the 8-bit picture is resized with (default bicubic).</summary>
    public PilFilter Resample { get; }

    /// <summary>do_pad: centre-pad the pixel values with zeros to a multiple of <see cref="SizeDivisor"/> (default false).</summary>
    public bool DoPad { get; }

    /// <summary>size_divisor: the multiple <see cref="DoPad"/> pads to; null when not set.</summary>
    public int? SizeDivisor { get; }
    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly string? _file;

    /// <summary>The processor for preprocessor_config.json's fields; unset fields take the reference class's defaults.</summary>
    /// <param name="config">The fields (an empty config: every default).</param>
    /// <param name="file">The file they came from, named in errors; null when none.</param>
    /// <exception cref="ConfigException">size lacks height or width or is not positive, resample is not a filter the class takes, image_mean or image_std has other than 1 or 3 values or a zero std, ensure_multiple_of is not positive, or do_pad is set without a positive size_divisor.</exception>
    public DPTImageProcessor(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        _file = file;
        (Height, Width) = config.HeightWidth(384, 384, file);
        KeepAspectRatio = config.KeepAspectRatio ?? false;
        EnsureMultipleOf = config.EnsureMultipleOfOr(1, file);
        int resample = config.Resample ?? (int)PilFilter.Bicubic;
        if (resample is < 1 or > 5)
            throw new ConfigException(file, $"resample: filter {resample} is not supported (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming)");
        Resample = (PilFilter)resample;
        DoPad = config.DoPad ?? false;
        SizeDivisor = config.SizeDivisorOr(null, file);
        if (DoPad && SizeDivisor is null) throw new ConfigException(file, "size_divisor: do_pad needs a divisor, got null");
        _mean = Channels(config.ImageMean, "image_mean", file);
        _std = Channels(config.ImageStd, "image_std", file);
        if (config.DoNormalize && _std.Any(s => s == 0)) throw new ConfigException(file, "image_std: must not be zero");
    }

    // IMAGENET_STANDARD_MEAN / _STD (0.5) when absent, as the reference.
    private static float[] Channels(List<double>? values, string field, string? file)
    {
        if (values is null) return [0.5f, 0.5f, 0.5f];
        if (values.Count == 1) return [(float)values[0], (float)values[0], (float)values[0]];
        if (values.Count != 3) throw new ConfigException(file, $"{field}: expected 3 values, got {values.Count}");
        return values.Select(v => (float)v).ToArray();
    }

    /// <summary>get_resize_output_image_size: the size a picture of inHeight × inWidth is resized to.</summary>
    /// <param name="inHeight">The picture's height in pixels.</param>
    /// <param name="inWidth">The picture's width in pixels.</param>
    public (int Height, int Width) OutputSize(int inHeight, int inWidth)
    {
        double scaleH = (double)Height / inHeight, scaleW = (double)Width / inWidth;
        // Keeping the aspect ratio takes whichever scale changes the picture least.
        if (KeepAspectRatio)
        {
            if (Math.Abs(1 - scaleW) < Math.Abs(1 - scaleH)) scaleH = scaleW;
            else scaleW = scaleH;
        }
        return (ToMultiple(scaleH * inHeight), ToMultiple(scaleW * inWidth));
    }

    /// <summary>Python's round (half to even) to a multiple of ensure_multiple_of.</summary>
    private int ToMultiple(double value) => (int)Math.Round(value / EnsureMultipleOf, MidpointRounding.ToEven) * EnsureMultipleOf;

    /// <summary>One picture's pixel values [3, H, W]: resized, rescaled, normalised and padded as configured.</summary>
    /// <param name="image">The picture.</param>
    /// <exception cref="ArgumentException">The picture is so small that it resizes to nothing.</exception>
    public Tensor PreprocessOne(RgbImage image)
    {
        if (Config.DoResize)
        {
            var (h, w) = OutputSize(image.Height, image.Width);
            ImageProcessorConfig.CheckOutput(_file, image.Width, image.Height, h, w);
            image = PillowResize.Resize(image, w, h, Resample);
        }
        var x = Normalize(image);
        return DoPad ? PadToMultiple(x, SizeDivisor!.Value, _file) : x;
    }

    /// <summary>The pixel_values [batch, 3, H, W] of the pictures, in order, as the reference's processor gives them.</summary>
    /// <param name="images">One or more pictures that come out at the same size.</param>
    /// <exception cref="ArgumentException">No pictures, pictures whose pixel values differ in size, or a picture too small to resize.</exception>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
        => PixelBatch.Stack(images, image => PreprocessOne(image));

    /// <summary>Rescale (float64, stored as float32) then normalise (float32), channel-first.</summary>
    private Tensor Normalize(RgbImage image)
    {
        int plane = image.Width * image.Height;
        var t = Tensor.Empty(3, image.Height, image.Width);
        var px = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            float mean = _mean[c], std = _std[c];
            var dst = t.Data.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                float v = Config.DoRescale ? (float)(px[i * 3 + c] * Config.RescaleFactor) : px[i * 3 + c];
                dst[i] = Config.DoNormalize ? (v - mean) / std : v;
            }
        }
        return t;
    }

    /// <summary>Zero padding around [3, H, W] up to multiples of <paramref name="divisor"/>, the odd pixel going to the bottom and right.</summary>
    internal static Tensor PadToMultiple(Tensor x, int divisor, string? file)
    {
        int h = x.Dim(1), w = x.Dim(2);
        int ph = (h + divisor - 1) / divisor * divisor, pw = (w + divisor - 1) / divisor * divisor;
        if (ph == h && pw == w) return x;
        ImageProcessorConfig.CheckOutput(file, w, h, ph, pw);
        int top = (ph - h) / 2, left = (pw - w) / 2;
        var y = Tensor.Zeros(3, ph, pw);
        for (int c = 0; c < 3; c++)
            for (int r = 0; r < h; r++)
                Array.Copy(x.Data, (c * h + r) * w, y.Data, (c * ph + top + r) * pw + left, w);
        return y;
    }
}
