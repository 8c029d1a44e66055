using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>Turns pictures into the pixel_values a model takes.</summary>
public interface IImageProcessor
{
    /// <summary>[batch, 3, H, W] for pictures that all come out at the same size.</summary>
    Tensor Preprocess(IReadOnlyList<RgbImage> images);

    /// <summary>
    /// A model folder's processor, which must be a <typeparamref name="T"/>; a folder without preprocessor_config.json gets
    /// <paramref name="defaults"/> (the reference class's defaults).
    /// </summary>
    public static T LoadFromFolder<T>(string modelDir, Func<T> defaults, string models) where T : class, IImageProcessor
    {
        string path = Path.Combine(modelDir, "preprocessor_config.json");
        return File.Exists(path)
            ? Load(path) as T ?? throw new DepthSharp.ConfigException(path, $"image_processor_type: {models} need {typeof(T).Name}")
            : defaults();
    }

    /// <summary>Reads preprocessor_config.json and returns the processor its image_processor_type names.</summary>
    public static IImageProcessor Load(string path)
    {
        var config = ImageProcessorConfig.Load(path);
        return config.ImageProcessorType switch
        {
            "DepthProImageProcessor" or "DepthProImageProcessorFast" => new DepthProImageProcessor(config, path),
            "ZoeDepthImageProcessor" or "ZoeDepthImageProcessorFast" => new ZoeDepthImageProcessor(config, path),
            // The fast variant's config is the same; both get the Pillow path the reference's slow class takes.
            "DPTImageProcessor" or "DPTImageProcessorFast" => new DPTImageProcessor(config, path),
            "GLPNImageProcessor" or "GLPNImageProcessorFast" => new GLPNImageProcessor(config, path),
            var other => throw new DepthSharp.ConfigException(path, $"image_processor_type: '{other}' is not supported"),
        };
    }
}
