using System.CommandLine;
using System.Text.Json;

namespace DepthSharp.Cli.Batch;

/// <summary>
/// What makes a picture's outputs besides the picture itself: the model (as named on the command line) and the
/// options that change the files, each with the tokens it was given. An output made with another recipe is redone.
/// </summary>
internal sealed class Recipe
{
    /// <summary>Options that say where or how fast to work, not what to write: they do not make an output stale.</summary>
    public static readonly string[] OutputNeutral = ["--model", "--output", "--threads", "--batch-size", "--shard", "--shard-count", "--skip-existing"];

    public Recipe(string model, IReadOnlyDictionary<string, string[]> options)
    {
        Model = model;
        Options = new SortedDictionary<string, string[]>(options.ToDictionary(), StringComparer.Ordinal);
    }

    /// <summary>The --model value.</summary>
    public string Model { get; }

    /// <summary>Option name → its tokens as given (empty for a flag), in ordinal order of the names.</summary>
    public IReadOnlyDictionary<string, string[]> Options { get; }

    /// <summary>
    /// The recipe of a command line: every option of <paramref name="command"/> given explicitly, except
    /// <paramref name="neutral"/> ones. Options other commands add later are recorded without being listed here.
    /// </summary>
    public static Recipe FromCommandLine(ParseResult parse, Command command, string model, IEnumerable<string>? neutral = null)
    {
        var skip = (neutral ?? OutputNeutral).ToHashSet(StringComparer.Ordinal);
        var options = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var option in command.Options)
        {
            if (skip.Contains(option.Name) || parse.GetResult(option) is not { Implicit: false } result) continue;
            options[option.Name] = result.Tokens.Select(t => t.Value).ToArray();
        }
        return new Recipe(model, options);
    }

    /// <summary>The JSON object stored under "source" in each picture's &lt;stem&gt;.json.</summary>
    public Dictionary<string, object?> Provenance(string relativePath, string sha256) => new()
    {
        ["path"] = relativePath.Replace('\\', '/'),
        ["sha256"] = sha256,
        ["model"] = Model,
        ["options"] = Options.ToDictionary(o => o.Key, o => (object?)o.Value, StringComparer.Ordinal),
    };

    /// <summary>Whether a stored "source" object records this recipe and this input hash.</summary>
    public bool Matches(JsonElement source, string sha256)
    {
        if (source.ValueKind != JsonValueKind.Object
            || !source.TryGetProperty("sha256", out var hash) || hash.ValueKind != JsonValueKind.String || hash.GetString() != sha256
            || !source.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString() != Model
            || !source.TryGetProperty("options", out var options) || options.ValueKind != JsonValueKind.Object)
            return false;
        int count = 0;
        foreach (var option in options.EnumerateObject())
        {
            count++;
            if (!Options.TryGetValue(option.Name, out var tokens) || option.Value.ValueKind != JsonValueKind.Array
                || !option.Value.EnumerateArray().Select(t => t.ValueKind == JsonValueKind.String ? t.GetString() : null).SequenceEqual(tokens))
                return false;
        }
        return count == Options.Count;
    }
}
