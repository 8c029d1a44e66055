using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DepthSharp.Models.Configs;

/// <summary>Reads config.json files: JSON and type errors become <see cref="ConfigException"/>s naming the file and the field.</summary>
internal static class ConfigLoader
{
    /// <summary>The model_type a config.json declares.</summary>
    public static string ReadModelType(string path)
    {
        using var doc = ParseDocument(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ConfigException(path, "not a JSON object");
        if (!doc.RootElement.TryGetProperty("model_type", out var mt) || mt.ValueKind != JsonValueKind.String)
            throw new ConfigException(path, "model_type: missing");
        return mt.GetString()!;
    }

    /// <summary>
    /// Reads a config.json as <typeparamref name="T"/> (its source-generated <paramref name="info"/>), then completes and
    /// validates it (<see cref="IPretrainedConfig.Complete"/>): every problem is a <see cref="ConfigException"/> naming the file and field.
    /// </summary>
    public static T Load<T>(string path, JsonTypeInfo<T> info) where T : class, IPretrainedConfig
    {
        var config = Deserialize(path, info);
        config.Complete(path);
        return config;
    }

    internal static JsonDocument ParseDocument(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException(path, $"cannot read: {e.Message}"); }
        try { return JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new ConfigException(path, $"not valid JSON: {e.Message}"); }
    }

    internal static T Deserialize<T>(string path, JsonTypeInfo<T> info) where T : class
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException(path, $"cannot read: {e.Message}"); }
        try
        {
            return JsonSerializer.Deserialize(bytes, info) ?? throw new ConfigException(path, "empty config");
        }
        catch (JsonException e)
        {
            string field = e.Path is { Length: > 2 } p ? p[2..] : "(root)";
            throw new ConfigException(path, $"{field}: {e.Message}");
        }
    }
}
