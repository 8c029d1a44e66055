using System.Text.Json;
using DepthSharp.Tensors;

namespace DepthSharp.Checkpoints;

/// <summary>The tensors of a model: one safetensors file, or the shards named by model.safetensors.index.json.</summary>
public sealed class Checkpoint : IDisposable
{
    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, SafeTensorsFile> _owner;

    /// <summary>The file it was opened from: the .safetensors file, or the shard index.</summary>
    public string Source { get; }

    /// <summary>The names of every tensor in it, across all shards.</summary>
    public IReadOnlyCollection<string> Names => _owner.Keys;

    private Checkpoint(string source, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> owner)
    {
        Source = source; _files = files; _owner = owner;
    }

    /// <summary>Where the tensor <paramref name="name"/> is stored: its dtype, shape, byte range and file.</summary>
    /// <param name="name">The tensor's name as in the checkpoint, e.g. "head.conv1.weight".</param>
    /// <exception cref="KeyNotFoundException">The checkpoint has no such tensor (see <see cref="Contains"/>).</exception>
    public TensorEntry Entry(string name) => _owner[name].Entries[name];

    /// <summary>Whether the checkpoint has a tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor's name as in the checkpoint.</param>
    public bool Contains(string name) => _owner.ContainsKey(name);

    /// <summary>Reads the tensor <paramref name="name"/> into a new float32 tensor of its shape (any stored dtype is widened or converted).</summary>
    /// <param name="name">The tensor's name as in the checkpoint.</param>
    /// <exception cref="KeyNotFoundException">The checkpoint has no such tensor (see <see cref="Contains"/>).</exception>
    public Tensor Read(string name) => _owner[name].Read(name);
    internal HalfTensor ReadHalf(string name) => _owner[name].ReadHalf(name);

    /// <summary>Opens a model folder: model.safetensors, else model.safetensors.index.json with its shards.</summary>
    /// <param name="dir">The model folder.</param>
    /// <exception cref="CheckpointException">The folder has neither file, or a file is broken (see <see cref="OpenFile"/> and <see cref="OpenIndex"/>).</exception>
    public static Checkpoint OpenDirectory(string dir)
    {
        string single = Path.Combine(dir, "model.safetensors");
        string index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(single)) return OpenFile(single);
        if (File.Exists(index)) return OpenIndex(index);
        throw new CheckpointException(dir, "no model.safetensors or model.safetensors.index.json in this folder");
    }

    /// <summary>Opens one .safetensors file; its header is checked whole before anything is read.</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <exception cref="CheckpointException">The file is missing, unreadable, truncated, or its header lies (bad JSON, unknown dtype, offsets outside the file or overlapping).</exception>
    public static Checkpoint OpenFile(string path)
    {
        var file = SafeTensorsFile.Open(path);
        return new Checkpoint(path, [file], file.Entries.Keys.ToDictionary(k => k, _ => file, StringComparer.Ordinal));
    }

    /// <summary>Opens a sharded checkpoint; every shard's tensors must be exactly those the index assigns to it.</summary>
    /// <param name="indexPath">The model.safetensors.index.json; its shards are found beside it.</param>
    /// <exception cref="CheckpointException">The index is broken, a shard is missing or broken, or a shard's tensors differ from the index's weight_map.</exception>
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

    /// <summary>Closes every file. Tensors already read stay valid: they are copies.</summary>
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
