using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace DepthSharp.Models.Configs;

/// <summary>Reads config.json files: JSON and type errors become <see cref="ConfigException"/>s naming the file and the field.</summary>
internal static class ConfigLoader
{
    /// <summary>
    /// The most layers a config may give one stack or stage. The released checkpoints have a few dozen at most (BEiT-Large
    /// 24, GLPN's third stage 27); a count like 2^31 would size the layer arrays before the first missing weight is noticed.
    /// </summary>
    internal const int MaxLayers = 1024;

    /// <summary>The model_type a config.json declares.</summary>
    public static string ReadModelType(string path)
    {
        using var doc = ReadDocument(path);
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

    /// <summary>
    /// A config file's JSON, checked before any value is used: readable, UTF-8 (the parser decodes strings only when
    /// asked, where bad bytes would throw), well-formed, and every number finite as a double (1e400 parses as infinity,
    /// which no range check that only asks "> 0" refuses).
    /// </summary>
    public static JsonDocument ReadDocument(string path) => ReadDocument(path, out _);

    private static JsonDocument ReadDocument(string path, out byte[] bytes)
    {
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException(path, $"cannot read: {e.Message}"); }
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new ConfigException(path, "not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new ConfigException(path, $"not valid JSON: {e.Message}"); }
        try { CheckNumbers(path, doc.RootElement, ""); }
        catch
        {
            doc.Dispose();
            throw;
        }
        return doc;
    }

    private static void CheckNumbers(string path, JsonElement e, string at)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject()) CheckNumbers(path, p.Value, at.Length == 0 ? p.Name : $"{at}.{p.Name}");
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in e.EnumerateArray()) CheckNumbers(path, item, $"{at}[{i++}]");
                break;
            case JsonValueKind.Number when !e.TryGetDouble(out double d) || !double.IsFinite(d):
                throw new ConfigException(path, $"{(at.Length == 0 ? "(root)" : at)}: {e.GetRawText()} is out of range for a number");
        }
    }

    internal static T Deserialize<T>(string path, JsonTypeInfo<T> info) where T : class
    {
        ReadDocument(path, out byte[] bytes).Dispose();
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
