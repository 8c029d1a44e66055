using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' GLPNImageProcessor: each side floored to a multiple of size_divisor, the 8-bit picture resized to that
/// with Pillow, then only rescaled (no normalisation), channel-first; and its post_process_depth_estimation.
/// </summary>
public sealed class GLPNImageProcessor : IImageProcessor<GLPNImageProcessor>
{
    /// <inheritdoc/>
    public static IReadOnlyList<string> ImageProcessorTypes { get; } = ["GLPNImageProcessor", "GLPNImageProcessorFast"];

    /// <inheritdoc/>
    public static GLPNImageProcessor Create(ImageProcessorConfig config, string? file) => new(config, file);

    /// <inheritdoc/>
    /// <remarks>The two flavours' pixel values differ (see <see cref="GLPNImageProcessorFast"/>).</remarks>
    public static IImageProcessor Create(ImageProcessorConfig config, string? file, ImageProcessorKind kind) =>
        kind.PicksFast(config.ImageProcessorType ?? "GLPNImageProcessor") ? new GLPNImageProcessorFast(config, file) : new GLPNImageProcessor(config, file);

    /// <summary>The configuration as read (do_resize, size_divisor, resample, do_rescale, rescale_factor are used).</summary>
    public ImageProcessorConfig Config { get; }
    /// <summary>Each side is floored to a multiple of this when resizing.</summary>
    public int SizeDivisor { get; }
    /// <summary>Pillow's filter for the resize.</summary>
    public PilFilter Resample { get; }

    /// <param name="config">preprocessor_config.json's values.</param>
    /// <param name="file">The file they came from, named in errors.</param>
    public GLPNImageProcessor(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        SizeDivisor = config.SizeDivisorOr(32, file)!.Value;
        int resample = config.Resample ?? (int)PilFilter.Bilinear;
        if (resample is < 1 or > 5)
            throw new ConfigException(file, $"resample: filter {resample} is not supported (1 Lanczos, 2 bilinear, 3 bicubic, 4 box, 5 Hamming)");
        Resample = (PilFilter)resample;
        if (!double.IsFinite(config.RescaleFactor)) throw new ConfigException(file, $"rescale_factor: must be a finite number, got {config.RescaleFactor}");
        // An input size that floors to nothing would fail every picture; it is the setting that is wrong.
        if (config.DoResize && config.InputSizeOverride is { } wanted && (wanted.Height < SizeDivisor || wanted.Width < SizeDivisor))
            throw new ConfigException(file, $"input size {wanted}: smaller than size_divisor {SizeDivisor} on a side");
    }

    /// <summary>
    /// The model input's size for a picture of inHeight × inWidth: each side floored to a multiple of size_divisor when
    /// resizing; with the user's input size (<see cref="ImageProcessorConfig.InputSizeOverride"/>), that size floored instead.
    /// </summary>
    public (int Height, int Width) OutputSize(int inHeight, int inWidth)
    {
        if (!Config.DoResize) return (inHeight, inWidth);
        if (Config.InputSizeOverride is { } wanted) (inHeight, inWidth) = (wanted.Height, wanted.Width);
        return (inHeight / SizeDivisor * SizeDivisor, inWidth / SizeDivisor * SizeDivisor);
    }

    /// <inheritdoc/>
    public (int Height, int Width) InputSize(RgbImage image) => OutputSize(image.Height, image.Width);

    /// <summary>One picture's pixel values [3, H, W].</summary>
    public Tensor PreprocessOne(RgbImage image)
    {
        if (Config.DoResize) image = PillowResize.Resize(image, ResizedWidth(image), ResizedHeight(image), Resample);
        return Rescale(image);
    }

    /// <summary>The floored height, refusing a picture it would empty.</summary>
    internal int ResizedHeight(RgbImage image) => NotEmpty(OutputSize(image.Height, image.Width).Height, image);

    /// <summary>The floored width, refusing a picture it would empty.</summary>
    internal int ResizedWidth(RgbImage image) => NotEmpty(OutputSize(image.Height, image.Width).Width, image);

    // The reference fails on such a picture too; here it is a typed refusal of the picture, not of the config.
    private int NotEmpty(int side, RgbImage image) => side > 0 ? side
        : throw new ImageFormatException(null, $"a {image.Width}x{image.Height} picture is smaller than the processor's size_divisor {SizeDivisor} on a side");

    /// <summary>[batch, 3, H, W] for pictures that all come out at the same size.</summary>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
        => PixelBatch.Stack(images, image => PreprocessOne(image));

    /// <summary>Channel-first floats, rescaled in float64 and stored as float32 as the reference's rescale does.</summary>
    private Tensor Rescale(RgbImage image)
    {
        int plane = image.Width * image.Height;
        var t = Tensor.Empty(3, image.Height, image.Width);
        var px = image.Pixels;
        double factor = Config.RescaleFactor;
        for (int c = 0; c < 3; c++)
        {
            var dst = t.Data.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++) dst[i] = Config.DoRescale ? (float)(px[i * 3 + c] * factor) : px[i * 3 + c];
        }
        return t;
    }

    /// <summary>
    /// post_process_depth_estimation: each picture's depth [H, W], resized bicubically (align_corners false) to its
    /// target size, or left at the model's size without one; the same resize as DPT's, nothing clamped.
    /// </summary>
    /// <param name="predictedDepth">[B, h, w] from the model.</param>
    /// <param name="targetSizes">(height, width) per picture, or null.</param>
    public static List<Tensor> PostProcessDepthEstimation(Tensor predictedDepth, IReadOnlyList<(int Height, int Width)>? targetSizes) =>
        DPTPostProcessor.Process(predictedDepth, targetSizes);
}
