using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>config.json's <c>hidden_act</c>: the activation of the transformer MLPs and of DPT's readout projection.</summary>
[JsonConverter(typeof(HiddenActJson))]
public enum HiddenAct
{
    /// <summary>"gelu": exact GELU, x·Φ(x).</summary>
    Gelu,
    /// <summary>"relu".</summary>
    Relu,
    /// <summary>"silu" or its other name "swish": x·σ(x).</summary>
    Silu,
}

/// <summary>config.json's <c>readout_type</c>: how the class token joins the patch tokens in a DPT-style neck.</summary>
[JsonConverter(typeof(ReadoutTypeJson))]
public enum ReadoutType
{
    /// <summary>"ignore": the class token is dropped.</summary>
    Ignore,
    /// <summary>"add": the class token is added to every patch token.</summary>
    Add,
    /// <summary>"project": each patch token, next to the class token, goes through a linear layer and the activation.</summary>
    Project,
}

/// <summary>
/// Reads an enum-like config string as its C# enum when config.json is read, so that no forward pass compares strings; an
/// unknown value is a <see cref="JsonException"/> naming the allowed ones, which the config loader turns into a
/// <see cref="ConfigException"/> naming the file and the field.
/// </summary>
internal abstract class ConfigEnumConverter<T>(params (string Name, T Value)[] names) : JsonConverter<T> where T : struct, Enum
{
    /// <summary>The accepted spellings, in the order the reference lists them.</summary>
    public IEnumerable<string> Names => names.Select(n => n.Name);

    private string Allowed => string.Join(", ", Names);

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
            throw new JsonException($"must be one of {Allowed}, got a {reader.TokenType.ToString().ToLowerInvariant()}");
        string? value = reader.GetString();
        foreach (var (name, v) in names)
            if (name == value) return v;
        throw new JsonException($"'{value}' is not supported (one of {Allowed})");
    }

    /// <summary>The first spelling of the value (e.g. "silu", not "swish").</summary>
    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options)
    {
        foreach (var (name, v) in names)
            if (EqualityComparer<T>.Default.Equals(v, value))
            {
                writer.WriteStringValue(name);
                return;
            }
        throw new JsonException($"{typeof(T).Name} {value} has no config spelling");
    }
}

internal sealed class HiddenActJson() : ConfigEnumConverter<HiddenAct>(
    ("gelu", HiddenAct.Gelu), ("relu", HiddenAct.Relu), ("silu", HiddenAct.Silu), ("swish", HiddenAct.Silu));

internal sealed class ReadoutTypeJson() : ConfigEnumConverter<ReadoutType>(
    ("ignore", ReadoutType.Ignore), ("add", ReadoutType.Add), ("project", ReadoutType.Project));
