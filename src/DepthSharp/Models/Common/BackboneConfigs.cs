using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DepthSharp.Models.Configs;

/// <summary>A backbone's config nested in a model's config.json (backbone_config): BiT, BEiT, DINOv2 or Swin V2.</summary>
public interface IBackboneConfig
{
    /// <summary>The nested config's model_type.</summary>
    string ModelType { get; }

    /// <summary>Rejects values the backbone cannot take; <paramref name="where"/> is the JSON path of this config ("backbone_config.").</summary>
    void Validate(string? file, string where);
}

/// <summary>Reads a backbone_config object as the class its model_type (or the model) calls for.</summary>
internal static class BackboneConfigReader
{
    /// <summary>
    /// <paramref name="element"/> as <typeparamref name="T"/>, validated; JSON and type errors become
    /// <see cref="ConfigException"/>s naming <paramref name="file"/> and the field under <paramref name="where"/>.
    /// </summary>
    public static T Read<T>(JsonElement element, JsonTypeInfo<T> info, string? file, string where) where T : class, IBackboneConfig
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new ConfigException(file, $"{where.TrimEnd('.')}: must be an object, got {element.ValueKind.ToString().ToLowerInvariant()}");
        T config;
        try
        {
            config = element.Deserialize(info)!;
        }
        catch (JsonException e)
        {
            string field = e.Path is { Length: > 2 } p ? p[2..] : "(root)";
            throw new ConfigException(file, $"{where}{field}: {e.Message}");
        }
        config.Validate(file, where);
        return config;
    }
}
