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
    internal HalfTensor ReadHalf(string name) => _owner[name].ReadHalf(name);

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
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(indexPath, "no \"weight_map\" object");
            weightMap = new(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new CheckpointException(indexPath, $"weight_map['{p.Name}'] is not a file name");
                string shard = p.Value.GetString()!;
                if (shard.Length == 0 || Path.GetFileName(shard) != shard)
                    throw new CheckpointException(indexPath, $"weight_map['{p.Name}'] = '{shard}' is not a plain file name beside the index");
                weightMap[p.Name] = shard;
            }
        }
        catch (JsonException e) { throw new CheckpointException(indexPath, $"not valid JSON: {e.Message}"); }
        catch (IOException e) { throw new CheckpointException(indexPath, $"cannot read: {e.Message}"); }

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

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
