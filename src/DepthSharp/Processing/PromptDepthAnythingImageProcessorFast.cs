using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' PromptDepthAnythingImageProcessorFast: the slow class's output size and prompt handling, but the 8-bit
/// picture is resized by torchvision (antialiased, int16 fixed-point weights: <see cref="TorchAntialiasResize"/>) and
/// rescaled and normalised in one fused float32 step. Unlike DPT's fast class it pads after normalising, as the slow
/// classes do, so the border holds 0.
/// </summary>
public sealed class PromptDepthAnythingImageProcessorFast : IFastImageProcessor<PromptDepthAnythingImageProcessor>
{
    private readonly PromptDepthAnythingImageProcessor _slow;
    private readonly TorchvisionNormalize _normalize;
    private readonly string? _file;

    /// <param name="config">The preprocessor config (the class's defaults where a field is absent).</param>
    /// <param name="file">The config's path, for error messages.</param>
    /// <exception cref="ConfigException">A field has an impossible value, or resample is not bilinear or bicubic.</exception>
    public PromptDepthAnythingImageProcessorFast(ImageProcessorConfig config, string? file = null)
    {
        // The slow class validates the fields both share and owns the output-size rule and the prompt's scaling.
        _slow = new PromptDepthAnythingImageProcessor(config, file);
        _file = file;
        if (_slow.Images.Resample is not (PilFilter.Bilinear or PilFilter.Bicubic))
            throw new ConfigException(file,
                $"resample: filter {(int)_slow.Images.Resample} is not supported by PromptDepthAnythingImageProcessorFast (2 bilinear, 3 bicubic)");
        _normalize = new TorchvisionNormalize(config);
    }

    /// <inheritdoc/>
    public PromptDepthAnythingImageProcessor Slow => _slow;

    /// <summary>The preprocessor_config.json it was made from.</summary>
    public ImageProcessorConfig Config => _slow.Config;

    /// <summary>The size a picture of <paramref name="inHeight"/> × <paramref name="inWidth"/> is resized to (as the slow class).</summary>
    /// <param name="inHeight">The picture's height in pixels.</param>
    /// <param name="inWidth">The picture's width in pixels.</param>
    public (int Height, int Width) OutputSize(int inHeight, int inWidth) => _slow.OutputSize(inHeight, inWidth);

    /// <summary>One picture's pixel values [3, H, W].</summary>
    /// <param name="image">The picture.</param>
    /// <exception cref="ArgumentException">The picture is so small that it resizes to nothing.</exception>
    public Tensor PreprocessOne(RgbImage image)
    {
        var images = _slow.Images;
        if (Config.DoResize)
        {
            var (h, w) = OutputSize(image.Height, image.Width);
            ImageProcessorConfig.CheckOutput(_file, image.Width, image.Height, h, w);
            image = TorchAntialiasResize.Resize(image, w, h, images.Resample);
        }
        var x = _normalize.RescaleAndNormalize(image);
        return images.DoPad ? DPTImageProcessor.PadToMultiple(x, images.SizeDivisor!.Value, _file) : x;
    }

    /// <inheritdoc/>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
        => PixelBatch.Stack(images, image => PreprocessOne(image));
}
