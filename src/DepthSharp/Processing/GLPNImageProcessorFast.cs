using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' GLPNImageProcessorFast: the slow class's output size (each side floored to a multiple of size_divisor),
/// but the 8-bit picture is resized by torchvision (antialiased, int16 weights: <see cref="TorchAntialiasResize"/>) and
/// rescaled in float32; never normalised, as the slow class.
/// </summary>
public sealed class GLPNImageProcessorFast : IFastImageProcessor<GLPNImageProcessor>
{
    private readonly GLPNImageProcessor _slow;
    private readonly TorchvisionNormalize _rescale;

    /// <param name="config">The preprocessor config (the class's defaults where a field is absent).</param>
    /// <param name="file">The config's path, for error messages.</param>
    /// <exception cref="ConfigException">A field has an impossible value, or resample is not bilinear or bicubic.</exception>
    public GLPNImageProcessorFast(ImageProcessorConfig config, string? file = null)
    {
        // The slow class validates the fields both share and owns the output-size rule.
        _slow = new GLPNImageProcessor(config, file);
        if (_slow.Resample is not (PilFilter.Bilinear or PilFilter.Bicubic))
            throw new ConfigException(file, $"resample: filter {(int)_slow.Resample} is not supported by GLPNImageProcessorFast (2 bilinear, 3 bicubic)");
        // GLPN's processors leave out normalisation whatever the file says (the fast class's do_normalize stays unset).
        _rescale = new TorchvisionNormalize(new ImageProcessorConfig { DoRescale = config.DoRescale, RescaleFactor = config.RescaleFactor, DoNormalize = false });
    }

    /// <inheritdoc/>
    public GLPNImageProcessor Slow => _slow;

    /// <summary>The preprocessor_config.json it was made from.</summary>
    public ImageProcessorConfig Config => _slow.Config;

    /// <inheritdoc/>
    public (int Height, int Width) InputSize(RgbImage image) => _slow.InputSize(image);

    /// <summary>One picture's pixel values [3, H, W].</summary>
    public Tensor PreprocessOne(RgbImage image)
    {
        if (Config.DoResize) image = TorchAntialiasResize.Resize(image, _slow.ResizedWidth(image), _slow.ResizedHeight(image), _slow.Resample);
        return _rescale.RescaleAndNormalize(image);
    }

    /// <inheritdoc/>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0) throw new ArgumentException("no images");
        var parts = images.Select(PreprocessOne).ToArray();
        if (parts.Any(p => p.Dim(1) != parts[0].Dim(1) || p.Dim(2) != parts[0].Dim(2)))
            throw new ArgumentException("pictures that come out at different sizes cannot form one batch; estimate them one at a time");
        return Ops.Concat(0, parts.Select(p => p.Reshape(1, 3, p.Dim(1), p.Dim(2))).ToArray());
    }
}
