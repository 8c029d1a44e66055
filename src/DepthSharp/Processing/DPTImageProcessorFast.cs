using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' DPTImageProcessorFast (DPT and Depth Anything): the slow class's output size, but the 8-bit picture
/// is resized by torchvision (antialiased, with int16 fixed-point weights), centre-padded with zero
/// bytes to a multiple of size_divisor before rescale and normalise (so the border holds −mean/std, not 0), then
/// rescaled and normalised in one fused float32 step.
/// </summary>
public sealed class DPTImageProcessorFast : IFastImageProcessor<DPTImageProcessor>
{
    private readonly DPTImageProcessor _slow;
    private readonly TorchvisionNormalize _normalize;
    private readonly string? _file;

    /// <param name="config">The preprocessor config (the class's defaults where a field is absent).</param>
    /// <param name="file">The config's path, for error messages.</param>
    /// <exception cref="ConfigException">A field has an impossible value, or resample is not bilinear or bicubic.</exception>
    public DPTImageProcessorFast(ImageProcessorConfig config, string? file = null)
    {
        // The slow class validates the fields both share and owns the output-size rule.
        _slow = new DPTImageProcessor(config, file);
        _file = file;
        if (_slow.Resample is not (PilFilter.Bilinear or PilFilter.Bicubic))
            throw new ConfigException(file, $"resample: filter {(int)_slow.Resample} is not supported by the fast processor, which resizes with torchvision (2 bilinear, 3 bicubic)");
        _normalize = new TorchvisionNormalize(config);
    }

    /// <inheritdoc/>
    public DPTImageProcessor Slow => _slow;

    /// <summary>The preprocessor_config.json it was made from.</summary>
    public ImageProcessorConfig Config => _slow.Config;

    /// <summary>Bilinear or bicubic.</summary>
    public PilFilter Resample => _slow.Resample;

    /// <summary>get_resize_output_image_size: the size a picture of inHeight × inWidth is resized to (as the slow class).</summary>
    /// <param name="inHeight">The picture's height in pixels.</param>
    /// <param name="inWidth">The picture's width in pixels.</param>
    public (int Height, int Width) OutputSize(int inHeight, int inWidth) => _slow.OutputSize(inHeight, inWidth);

    /// <summary>One picture's pixel values [3, H, W].</summary>
    /// <param name="image">The picture.</param>
    /// <exception cref="ArgumentException">The picture is so small that it resizes to nothing.</exception>
    public Tensor PreprocessOne(RgbImage image)
    {
        image = Resize(image);
        if (_slow.DoPad) image = PadToMultiple(image, _slow.SizeDivisor!.Value, _file);
        return RescaleAndNormalize(image);
    }

    /// <summary>The resize step as configured (none when do_resize is false).</summary>
    internal RgbImage Resize(RgbImage image)
    {
        if (!Config.DoResize) return image;
        var (h, w) = OutputSize(image.Height, image.Width);
        ImageProcessorConfig.CheckOutput(_file, image.Width, image.Height, h, w);
        return TorchAntialiasResize.Resize(image, w, h, Resample);
    }

    /// <summary>The fused rescale and normalise step: [3, H, W].</summary>
    internal Tensor RescaleAndNormalize(RgbImage image) => _normalize.RescaleAndNormalize(image);

    /// <inheritdoc/>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
        => PixelBatch.Stack(images, image => PreprocessOne(image));

    /// <summary>Zero bytes around the picture up to multiples of <paramref name="divisor"/>, the odd pixel going to the bottom and right.</summary>
    private static RgbImage PadToMultiple(RgbImage image, int divisor, string? file)
    {
        int h = image.Height, w = image.Width;
        int ph = (h + divisor - 1) / divisor * divisor, pw = (w + divisor - 1) / divisor * divisor;
        if (ph == h && pw == w) return image;
        ImageProcessorConfig.CheckOutput(file, w, h, ph, pw);
        int top = (ph - h) / 2, left = (pw - w) / 2;
        var padded = new byte[(long)ph * pw * 3];
        for (int r = 0; r < h; r++)
            Array.Copy(image.Pixels, (long)r * w * 3, padded, ((long)(top + r) * pw + left) * 3, w * 3);
        return new RgbImage(pw, ph, padded);
    }
}
