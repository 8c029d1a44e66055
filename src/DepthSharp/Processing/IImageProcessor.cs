using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>Turns pictures into the pixel_values a model takes.</summary>
public interface IImageProcessor
{
    /// <summary>[batch, 3, H, W] for pictures that all come out at the same size.</summary>
    Tensor Preprocess(IReadOnlyList<RgbImage> images);

    /// <summary>Reads preprocessor_config.json and returns the processor its image_processor_type names.</summary>
    public static IImageProcessor Load(string path)
    {
        var config = ImageProcessorConfig.Load(path);
        return config.ImageProcessorType switch
        {
            "DepthProImageProcessor" or "DepthProImageProcessorFast" => new DepthProImageProcessor(config, path),
            "ZoeDepthImageProcessor" or "ZoeDepthImageProcessorFast" => new ZoeDepthImageProcessor(config, path),
            var other => throw new DepthSharp.ConfigException(path, $"image_processor_type: '{other}' is not supported"),
        };
    }
}
