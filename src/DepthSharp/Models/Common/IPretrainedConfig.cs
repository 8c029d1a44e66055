namespace DepthSharp.Models.Configs;

/// <summary>
/// A model's config.json as a class (transformers' PretrainedConfig): properties named as the file's keys (snake_case),
/// defaulting to the reference's values, unknown keys kept, enum-like strings read as C# enums.
/// </summary>
public interface IPretrainedConfig
{
    /// <summary>config.json's model_type.</summary>
    string ModelType { get; }

    /// <summary>
    /// Fills what the reference fills when a key is absent (default backbones), then validates every value the model needs,
    /// throwing a <see cref="ConfigException"/> that names <paramref name="file"/> and the field.
    /// </summary>
    void Complete(string? file);
}
