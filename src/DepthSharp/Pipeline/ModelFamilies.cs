using DepthSharp.Models.Configs;
using DepthSharp.Pipeline.Families;
using DepthSharp.Processing;

namespace DepthSharp.Pipeline;

/// <summary>The registry: every model family DepthSharp runs, by config.json model_type. A new family is one line in <see cref="All"/>.</summary>
public static class ModelFamilies
{
    /// <summary>The families, each with its own model_type.</summary>
    public static IReadOnlyList<DepthModelFamily> All { get; } =
    [
        new DepthProFamily(),
        new ZoeDepthFamily(),
        new DepthAnythingFamily(),
        new DPTFamily(),
        new GLPNFamily(),
        new PromptDepthAnythingFamily(),
    ];

    /// <summary>The model_types of <see cref="All"/>, in order.</summary>
    public static IEnumerable<string> ModelTypes => All.Select(f => f.ModelType);

    /// <summary>The family of a model_type.</summary>
    /// <param name="modelType">config.json's model_type.</param>
    /// <param name="configPath">The config.json that declared it, named in the error.</param>
    /// <exception cref="ConfigException">No family has that model_type; the message lists the supported ones.</exception>
    public static DepthModelFamily ForModelType(string modelType, string? configPath = null) =>
        All.FirstOrDefault(f => f.ModelType == modelType)
        ?? throw new ConfigException(configPath, $"model_type: '{modelType}' is not supported (supported: {string.Join(", ", ModelTypes)})");

    /// <summary>The family of a model folder, by its config.json's model_type.</summary>
    /// <param name="folder">The model folder.</param>
    /// <exception cref="ConfigException">The folder or its config.json is missing, or the model_type is unknown.</exception>
    public static DepthModelFamily ForFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new ConfigException(folder, "model folder not found");
        string configPath = Path.Combine(folder, "config.json");
        return ForModelType(ConfigLoader.ReadModelType(configPath), configPath);
    }

    /// <summary>
    /// The processor a preprocessor_config.json names by its image_processor_type, whichever family takes it (what
    /// `depthsharp preprocess` uses: no config.json needed).
    /// </summary>
    /// <exception cref="ConfigException">The file is broken, names no supported processor or has an impossible value.</exception>
    /// <param name="path">The preprocessor_config.json.</param>
    /// <param name="kind">The flavour: the class the file names, or transformers' slow or fast one forced.</param>
    public static IImageProcessor LoadProcessor(string path, ImageProcessorKind kind = ImageProcessorKind.Auto)
    {
        var config = ImageProcessorConfig.Load(path);
        var family = All.FirstOrDefault(f => f.ImageProcessorTypes.Contains(config.ImageProcessorType))
            ?? throw new ConfigException(path, $"image_processor_type: '{config.ImageProcessorType}' is not supported (supported: "
                + string.Join(", ", All.SelectMany(f => f.ImageProcessorTypes).Distinct()) + ")");
        return family.CreateProcessor(config, path, kind);
    }

    /// <summary>
    /// A model folder's processor for <paramref name="family"/>: preprocessor_config.json's, which must name a processor the
    /// family takes; without the file, the reference class's defaults.
    /// </summary>
    /// <exception cref="ConfigException">The file is broken, names another family's processor or has an impossible value.</exception>
    /// <param name="family">The model's family.</param>
    /// <param name="folder">The model folder.</param>
    /// <param name="kind">The flavour: the class the file names (without the file: the slow one), or one forced.</param>
    /// <param name="inputSize">Replaces the config's size (<see cref="DepthEstimatorOptions.InputSize"/>); null keeps it.</param>
    /// <exception cref="ConfigException">Also: an input size for a family or processor that does not resize to one.</exception>
    public static IImageProcessor LoadProcessor(DepthModelFamily family, string folder, ImageProcessorKind kind = ImageProcessorKind.Auto,
        InputSize? inputSize = null)
    {
        string path = Path.Combine(folder, "preprocessor_config.json");
        bool exists = File.Exists(path);
        var config = exists ? ImageProcessorConfig.Load(path) : new ImageProcessorConfig();
        if (exists && !family.ImageProcessorTypes.Contains(config.ImageProcessorType))
            throw new ConfigException(path, $"image_processor_type: {family.ModelType} models take {string.Join(" or ", family.ImageProcessorTypes)}, not '{config.ImageProcessorType}'");
        if (inputSize is not null)
        {
            if (family.FixedInputSizeReason is string reason) throw new ConfigException(folder, $"input size {inputSize}: {reason}");
            if (!config.DoResize) throw new ConfigException(path, $"input size {inputSize}: do_resize is false, so the processor keeps every picture at its own size");
            // The bound size has in a config: GLPN resizes to the input size without going through size.
            if (inputSize.Height is <= 0 or > ImageProcessorConfig.MaxSide || inputSize.Width is <= 0 or > ImageProcessorConfig.MaxSide)
                throw new ConfigException(path, $"input size {inputSize}: height and width must be 1 to {ImageProcessorConfig.MaxSide}");
            config.Size = new Dictionary<string, int> { ["height"] = inputSize.Height, ["width"] = inputSize.Width };
            config.InputSizeOverride = inputSize;
        }
        return family.CreateProcessor(config, exists ? path : null, kind);
    }
}
