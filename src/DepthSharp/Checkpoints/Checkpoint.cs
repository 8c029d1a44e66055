using System.Text.Json;
using DepthSharp.Tensors;

namespace DepthSharp.Checkpoints;

/// <summary>The tensors of a model: one safetensors file, or the shards named by model.safetensors.index.json.</summary>
public sealed class Checkpoint : IDisposable
{
    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, SafeTensorsFile> _owner;

    public string Source { get; }
    public IReadOnlyCollection<string> Names => _owner.Keys;

    private Checkpoint(string source, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> owner)
    {
        Source = source; _files = files; _owner = owner;
    }

    public TensorEntry Entry(string name) => _owner[name].Entries[name];
    public bool Contains(string name) => _owner.ContainsKey(name);
    public Tensor Read(string name) => _owner[name].Read(name);
    public HalfTensor ReadHalf(string name) => _owner[name].ReadHalf(name);

    /// <summary>Opens a model folder: model.safetensors, else model.safetensors.index.json with its shards.</summary>
    public static Checkpoint OpenDirectory(string dir)
    {
        string single = Path.Combine(dir, "model.safetensors");
        string index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(single)) return OpenFile(single);
        if (File.Exists(index)) return OpenIndex(index);
        throw new CheckpointException(dir, "no model.safetensors or model.safetensors.index.json in this folder");
    }

    public static Checkpoint OpenFile(string path)
    {
        var file = SafeTensorsFile.Open(path);
        return new Checkpoint(path, [file], file.Entries.Keys.ToDictionary(k => k, _ => file, StringComparer.Ordinal));
    }

    /// <summary>Opens a sharded checkpoint; every shard's tensors must be exactly those the index assigns to it.</summary>
    public static Checkpoint OpenIndex(string indexPath)
    {
        Dictionary<string, string> weightMap;
        try
        {
            byte[] bytes = File.ReadAllBytes(indexPath);
            // The parser leaves strings to be decoded on use, where bad UTF-8 would throw.
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new CheckpointException(indexPath, "not valid UTF-8");
            using var doc = JsonDocument.Parse(bytes);
            weightMap = ParseWeightMap(indexPath, doc.RootElement);
        }
        catch (JsonException e) { throw new CheckpointException(indexPath, $"not valid JSON: {e.Message}"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CheckpointException(indexPath, $"cannot read: {e.Message}"); }

        string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var files = new List<SafeTensorsFile>();
        var owner = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var shardName in weightMap.Values.Distinct().Order(StringComparer.Ordinal))
            {
                var file = SafeTensorsFile.Open(Path.Combine(dir, shardName));
                files.Add(file);
                foreach (var name in file.Entries.Keys)
                {
                    if (!weightMap.TryGetValue(name, out var expected) || expected != shardName)
                        throw new CheckpointException(file.Path, $"holds tensor '{name}', which the index {(expected is null ? "does not list" : $"assigns to {expected}")}");
                    owner[name] = file;
                }
            }
            foreach (var (name, shard) in weightMap)
                if (!owner.ContainsKey(name))
                    throw new CheckpointException(Path.Combine(dir, shard), $"has no tensor '{name}', which the index assigns to it");
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
        return new Checkpoint(indexPath, files, owner);
    }

    /// <summary>weight_map: tensor name → the shard file beside the index that holds it, each name once.</summary>
    private static Dictionary<string, string> ParseWeightMap(string indexPath, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new CheckpointException(indexPath, $"must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}");
        var maps = root.EnumerateObject().Where(p => p.Name == "weight_map").ToList();
        if (maps.Count == 0) throw new CheckpointException(indexPath, "no \"weight_map\"");
        if (maps.Count > 1) throw new CheckpointException(indexPath, "\"weight_map\" appears twice");
        var map = maps[0].Value;
        if (map.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(indexPath, $"weight_map must be an object of tensor names to shard files, not {map.ValueKind.ToString().ToLowerInvariant()}");
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in map.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(indexPath, $"weight_map['{p.Name}'] must be a shard file name, not {p.Value.ValueKind.ToString().ToLowerInvariant()}");
            string shard = p.Value.GetString()!;
            if (shard.Length == 0 || shard is "." or ".." || Path.GetFileName(shard) != shard || shard.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
                throw new CheckpointException(indexPath, $"weight_map['{p.Name}'] = '{shard}' is not a plain file name beside the index");
            if (!weightMap.TryAdd(p.Name, shard)) throw new CheckpointException(indexPath, $"weight_map lists '{p.Name}' twice");
        }
        return weightMap;
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
