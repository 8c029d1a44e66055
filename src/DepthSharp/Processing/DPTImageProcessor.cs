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

    public ImageProcessorConfig Config { get; }
    public int Height { get; }
    public int Width { get; }
    public bool KeepAspectRatio { get; }
    public int EnsureMultipleOf { get; }
    public PilFilter Resample { get; }
    public bool DoPad { get; }
    public int? SizeDivisor { get; }
    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly string? _file;

    public DPTImageProcessor(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        _file = file;
        (Height, Width) = config.HeightWidth(384, 384, file);
        KeepAspectRatio = config.KeepAspectRatio ?? false;
        EnsureMultipleOf = config.EnsureMultipleOf ?? 1;
        if (EnsureMultipleOf <= 0) throw new ConfigException(file, $"ensure_multiple_of: must be positive, got {EnsureMultipleOf}");
        int resample = config.Resample ?? (int)PilFilter.Bicubic;
        if (resample is < 1 or > 5)
            throw new ConfigException(file, $"resample: filter {resample} is not supported (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming)");
        Resample = (PilFilter)resample;
        DoPad = config.DoPad ?? false;
        SizeDivisor = config.SizeDivisor;
        if (DoPad && SizeDivisor is not > 0) throw new ConfigException(file, $"size_divisor: do_pad needs a positive divisor, got {SizeDivisor?.ToString() ?? "null"}");
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

    /// <summary>One picture's pixel values [3, H, W].</summary>
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
    private static Tensor PadToMultiple(Tensor x, int divisor, string? file)
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
