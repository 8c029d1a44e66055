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
    public static T LoadFromFolder<T>(string modelDir, Func<T> defaults, string models, ImageProcessorKind kind = ImageProcessorKind.Auto)
        where T : class, IImageProcessor
    {
        string path = Path.Combine(modelDir, "preprocessor_config.json");
        return File.Exists(path)
            ? Load(path, kind) as T ?? throw new DepthSharp.ConfigException(path, $"image_processor_type: {models} need {typeof(T).Name}")
            : defaults();
    }

    /// <summary>
    /// A model folder's processor for a family whose slow and fast classes differ: a <typeparamref name="TSlow"/> or a
    /// <typeparamref name="TFast"/> as <paramref name="kind"/> picks; a folder without preprocessor_config.json gets the
    /// picked class's defaults (the slow one's unless fast is forced).
    /// </summary>
    public static IImageProcessor LoadFromFolder<TSlow, TFast>(string modelDir, Func<TSlow> slowDefaults, Func<TFast> fastDefaults, string models,
        ImageProcessorKind kind) where TSlow : class, IImageProcessor where TFast : class, IImageProcessor
    {
        string path = Path.Combine(modelDir, "preprocessor_config.json");
        if (!File.Exists(path)) return kind == ImageProcessorKind.Fast ? fastDefaults() : slowDefaults();
        var processor = Load(path, kind);
        return processor is TSlow or TFast ? processor
            : throw new DepthSharp.ConfigException(path, $"image_processor_type: {models} need {typeof(TSlow).Name} or {typeof(TFast).Name}");
    }

    /// <summary>
    /// Reads preprocessor_config.json and returns the processor its image_processor_type names, or that family's slow or
    /// fast class when <paramref name="kind"/> forces one.
    /// </summary>
    public static IImageProcessor Load(string path, ImageProcessorKind kind = ImageProcessorKind.Auto)
    {
        var config = ImageProcessorConfig.Load(path);
        return config.ImageProcessorType switch
        {
            // DepthPro's and ZoeDepth's fast classes give the slow ones' values (processors_fast fixtures): one class each.
            "DepthProImageProcessor" or "DepthProImageProcessorFast" => new DepthProImageProcessor(config, path),
            "ZoeDepthImageProcessor" or "ZoeDepthImageProcessorFast" => new ZoeDepthImageProcessor(config, path),
            "DPTImageProcessor" or "DPTImageProcessorFast" => kind.PicksFast(config.ImageProcessorType)
                ? new DPTImageProcessorFast(config, path) : new DPTImageProcessor(config, path),
            var other => throw new DepthSharp.ConfigException(path, $"image_processor_type: '{other}' is not supported"),
        };
    }
}
