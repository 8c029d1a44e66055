using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' PromptDepthAnythingImageProcessorFast: the slow class's output size and prompt handling, and DPT's fast
/// steps for the picture (torchvision's antialiased resize of the 8-bit picture, then one fused float32 rescale and
/// normalise), but padded after normalising, as the slow classes pad, so the border holds 0.
/// </summary>
public sealed class PromptDepthAnythingImageProcessorFast : IFastImageProcessor<PromptDepthAnythingImageProcessor>
{
    private readonly PromptDepthAnythingImageProcessor _slow;
    private readonly DPTImageProcessorFast _pixels;
    private readonly string? _file;

    /// <param name="config">The preprocessor config (the class's defaults where a field is absent).</param>
    /// <param name="file">The config's path, for error messages.</param>
    /// <exception cref="ConfigException">A field has an impossible value, or resample is not bilinear or bicubic.</exception>
    public PromptDepthAnythingImageProcessorFast(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        // The reference's fast class pads only when size_divisor is set too, where the slow ones need it for do_pad.
        var steps = config.DoPad == true && config.SizeDivisor is null ? config.WithoutPadding() : config;
        _slow = new PromptDepthAnythingImageProcessor(steps, file);
        _pixels = new DPTImageProcessorFast(steps, file);
        _file = file;
    }

    /// <inheritdoc/>
    public PromptDepthAnythingImageProcessor Slow => _slow;

    /// <summary>The preprocessor_config.json it was made from.</summary>
    public ImageProcessorConfig Config { get; }

    /// <summary>The size a picture of <paramref name="inHeight"/> × <paramref name="inWidth"/> is resized to (as the slow class).</summary>
    /// <param name="inHeight">The picture's height in pixels.</param>
    /// <param name="inWidth">The picture's width in pixels.</param>
    public (int Height, int Width) OutputSize(int inHeight, int inWidth) => _slow.OutputSize(inHeight, inWidth);

    /// <summary>One picture's pixel values [3, H, W].</summary>
    /// <param name="image">The picture.</param>
    /// <exception cref="ArgumentException">The picture is so small that it resizes to nothing.</exception>
    public Tensor PreprocessOne(RgbImage image)
    {
        var x = _pixels.RescaleAndNormalize(_pixels.Resize(image));
        return _slow.Images.DoPad ? DPTImageProcessor.PadToMultiple(x, _slow.Images.SizeDivisor!.Value, _file) : x;
    }

    /// <inheritdoc/>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
        => PixelBatch.Stack(images, image => PreprocessOne(image));
}
