using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>Turns pictures into the pixel_values a model takes.</summary>
public interface IImageProcessor
{
    /// <summary>[batch, 3, H, W] for pictures that all come out at the same size.</summary>
    Tensor Preprocess(IReadOnlyList<RgbImage> images);

    /// <summary>[H, W] of the pixel values for a picture: pictures form one batch only when theirs agree.</summary>
    (int Height, int Width) InputSize(RgbImage image)
    {
        var pixels = Preprocess([image]);
        return (pixels.Dim(2), pixels.Dim(3));
    }
}

/// <summary>
/// An image processor class as preprocessor_config.json names it: the image_processor_type values that select it and how
/// it is made from the file's fields. Model families name the processor class they take by this type.
/// </summary>
public interface IImageProcessor<TSelf> : IImageProcessor where TSelf : IImageProcessor<TSelf>
{
    /// <summary>The image_processor_type values of this class: the reference's processor and its "Fast" variant.</summary>
    static abstract IReadOnlyList<string> ImageProcessorTypes { get; }

    /// <summary>
    /// The processor for preprocessor_config.json's fields (<paramref name="file"/>: its path, named in errors); an empty
    /// <see cref="ImageProcessorConfig"/> gives the reference class's defaults, for a model folder without the file.
    /// </summary>
    /// <exception cref="ConfigException">A field has a value the processor cannot take.</exception>
    static abstract TSelf Create(ImageProcessorConfig config, string? file);

    /// <summary>
    /// The processor of <paramref name="kind"/>'s flavour for these fields: transformers' slow class, or its fast one where
    /// their pixel values differ (DPT's); a class whose two flavours agree gives itself either way.
    /// </summary>
    /// <exception cref="ConfigException">A field has a value the processor cannot take.</exception>
    static virtual IImageProcessor Create(ImageProcessorConfig config, string? file, ImageProcessorKind kind) => TSelf.Create(config, file);
}

/// <summary>
/// A fast flavour of a slow processor class (transformers' *ImageProcessorFast): different pixel values, the same fields,
/// output sizes and post-processing settings, which its <see cref="Slow"/> twin carries.
/// </summary>
/// <typeparam name="TSlow">The slow class.</typeparam>
public interface IFastImageProcessor<out TSlow> : IImageProcessor where TSlow : IImageProcessor
{
    /// <summary>The slow class made from the same fields.</summary>
    TSlow Slow { get; }
}
