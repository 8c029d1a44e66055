using System.CommandLine;
using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Hub;

namespace DepthSharp.Cli;

/// <summary>`download` and `inspect`, and the --model resolution the other commands share.</summary>
internal static class HubCommands
{
    public static Option<string> ModelOption() => new("--model")
    {
        Description = "Model folder, or Hub repo id org/name[@revision] fetched into the Hugging Face cache (HF_HOME, HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE)",
        DefaultValueFactory = _ => ModelResolver.DefaultModel,
    };

    /// <summary>The model's folder, downloading a repo id into the cache with a byte count on stderr every 64 MiB.</summary>
    public static async Task<string> ResolveAsync(string model, CancellationToken cancellationToken)
    {
        if (Directory.Exists(model)) return Path.GetFullPath(model);
        long lastShown = 0;
        var progress = new Report(bytes =>
        {
            if (bytes - lastShown < 64L << 20) return;
            lastShown = bytes;
            Console.Error.WriteLine($"{model}: {bytes >> 20} MiB downloaded");
        });
        return await ModelResolver.ResolveAsync(model, HubOptions.FromEnvironment(), progress, cancellationToken);
    }

    public static Command Download()
    {
        var model = new Argument<string>("model") { Description = "Hub repo id org/name[@revision] (or a model folder)" };
        var command = new Command("download", "Fetch a model into the Hugging Face cache and print its snapshot folder") { model };
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            Console.WriteLine(await ResolveAsync(parse.GetValue(model)!, cancellationToken));
            return 0;
        }));
        return command;
    }

    public static Command Inspect()
    {
        var model = new Argument<string>("model") { Description = "Model folder or Hub repo id org/name[@revision]" };
        var command = new Command("inspect", "Model type, config summary, tensor count, dtypes and parameter count (reads only the safetensors headers); one JSON object") { model };
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            string folder = await ResolveAsync(parse.GetValue(model)!, cancellationToken);
            using var checkpoint = Checkpoint.OpenDirectory(folder);
            var entries = checkpoint.Names.Select(checkpoint.Entry).ToList();
            var config = ConfigSummary(Path.Combine(folder, "config.json"));
            var report = new Dictionary<string, object?>
            {
                ["folder"] = folder,
                ["model_type"] = config.GetValueOrDefault("model_type"),
                ["config"] = config,
                ["tensors"] = entries.Count,
                ["dtypes"] = entries.GroupBy(e => e.DType).OrderBy(g => g.Key).ToDictionary(g => g.Key.ToString(), g => (object?)g.LongCount()),
                ["parameters"] = entries.Sum(e => e.ElementCount),
            };
            Console.WriteLine(JsonSerializer.Serialize(report, CliJson.Default.DictionaryStringObject));
            return 0;
        }));
        return command;
    }

    /// <summary>config.json's top-level scalars, plus the model_type of each nested *_config (the backbone, the FOV model…).</summary>
    private static Dictionary<string, object?> ConfigSummary(string path)
    {
        if (!File.Exists(path)) throw new ConfigException(path, "not found in the model folder");
        using (var doc = DepthSharp.Models.Configs.ConfigLoader.ReadDocument(path))
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ConfigException(path, "not a JSON object");
            var summary = new Dictionary<string, object?>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                object? value = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.Number => p.Value.TryGetInt64(out long l) ? l : p.Value.GetDouble(),
                    JsonValueKind.True or JsonValueKind.False => p.Value.GetBoolean(),
                    JsonValueKind.Object when p.Value.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String => t.GetString(),
                    _ => null,
                };
                if (value is not null) summary[p.Name] = value;
            }
            return summary;
        }
    }

    /// <summary>Reports on the calling thread.</summary>
    private sealed class Report(Action<long> report) : IProgress<long>
    {
        void IProgress<long>.Report(long value) => report(value);
    }
}
