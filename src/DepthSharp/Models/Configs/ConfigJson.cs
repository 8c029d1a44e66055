using System.Text.Json;
using System.Text.Json.Serialization;
using DepthSharp.Models.Bit;

namespace DepthSharp.Models.Configs;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true)]
[JsonSerializable(typeof(DepthProConfig))]
[JsonSerializable(typeof(Dinov2Config))]
[JsonSerializable(typeof(ZoeDepthConfig))]
[JsonSerializable(typeof(DepthAnythingConfig))]
[JsonSerializable(typeof(DPTConfig))]
[JsonSerializable(typeof(BitConfig))]
internal sealed partial class ConfigJsonContext : JsonSerializerContext;

/// <summary>Reads config.json files: model_type picks the class; JSON and type errors become <see cref="ConfigException"/>s.</summary>
public static class ConfigLoader
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

    public static DepthProConfig LoadDepthPro(string path)
    {
        var config = Deserialize(path, ConfigJsonContext.Default.DepthProConfig);
        config.Complete(path);
        return config;
    }

    public static ZoeDepthConfig LoadZoeDepth(string path)
    {
        var config = Deserialize(path, ConfigJsonContext.Default.ZoeDepthConfig);
        config.Complete(path);
        return config;
    }

    public static DepthAnythingConfig LoadDepthAnything(string path)
    {
        var config = Deserialize(path, ConfigJsonContext.Default.DepthAnythingConfig);
        config.Complete(path);
        return config;
    }

    public static DPTConfig LoadDpt(string path)
    {
        var config = Deserialize(path, ConfigJsonContext.Default.DPTConfig);
        config.Validate(path);
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

    internal static T Deserialize<T>(string path, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info) where T : class
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
