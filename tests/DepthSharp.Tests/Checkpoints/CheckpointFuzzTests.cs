using System.Text.Json;
using System.Text.Json.Nodes;
using DepthSharp.Checkpoints;
using DepthSharp.Tests.Fuzz;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Checkpoints;

/// <summary>
/// Mutated safetensors files and shard indexes must open and read whole, or be refused with a CheckpointException naming
/// the file, quickly. The safetensors mutations aim at the header (JSON values of the wrong type or range in every field,
/// dtype, shape and offset lies, a lying header length) as well as the bytes (flips, truncation, extra or missing data,
/// non-finite values); the index mutations at weight_map (wrong types, a tensor sent to the wrong shard, to a missing or
/// foreign file, out of the folder, listed twice or not at all).
/// </summary>
public sealed class CheckpointFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(1);
    // The suite runs beside other tests on a shared machine; only the Category=Fuzz runs hold cases to the second.
    private static readonly TimeSpan InSuiteCaseLimit = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-ckptfuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MutatedSafeTensorsFilesFailCleanly() => RunSafeTensors(seed: 2020, variants: 500, InSuiteCaseLimit);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedSafeTensorsFilesFailCleanly() => RunSafeTensors(seed: 20, variants: 10_000, CaseLimit);

    [Fact]
    public void MutatedShardIndexesFailCleanly() => RunIndex(seed: 2021, variants: 500, InSuiteCaseLimit);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedShardIndexesFailCleanly() => RunIndex(seed: 21, variants: 10_000, CaseLimit);

    /// <summary>
    /// Up to 40 tensors of every fixture model's safetensors files (their dtypes and names, fewer bytes to write per
    /// case), and a hand-made file with the dtypes and shapes the fixtures lack (int64 scalar, empty tensor, bool, f64).
    /// </summary>
    private static List<(string Name, byte[] Bytes)> SafeTensorsCorpus()
    {
        var corpus = new List<(string, byte[])>();
        foreach (string file in Directory.EnumerateFiles(Fixtures.Path("models"), "*.safetensors", SearchOption.AllDirectories)
                     .Where(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var (header, data) = SafeTensorsMutator.Split(File.ReadAllBytes(file));
            using var doc = JsonDocument.Parse(header);
            var tensors = doc.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToList();
            int stride = Math.Max(1, tensors.Count / 40);
            var kept = tensors.Where((_, i) => i % stride == 0).Take(40).Select(p =>
            {
                long begin = p.Value.GetProperty("data_offsets")[0].GetInt64(), end = p.Value.GetProperty("data_offsets")[1].GetInt64();
                var dtype = Enum.Parse<StoredDType>(p.Value.GetProperty("dtype").GetString()!, ignoreCase: true);
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()).ToArray();
                byte[] bytes = data[(int)begin..(int)end];
                return new TensorToWrite(p.Name, dtype, shape, () => bytes);
            }).ToList();
            corpus.Add(($"{Path.GetFileName(Path.GetDirectoryName(file))}/{Path.GetFileName(file)}", WriteToBytes(kept)));
        }
        corpus.Add(("hand-made", WriteToBytes(
        [
            new("count", StoredDType.I64, [], () => BitConverter.GetBytes(12345L)),
            new("empty", StoredDType.F32, [0, 3], () => Array.Empty<byte>()),
            new("half", StoredDType.F16, [2, 3], () => new byte[12]),
            new("brain", StoredDType.BF16, [3], () => new byte[] { 0, 0x3f, 0, 0x40, 0x80, 0xbf }),
            new("flag", StoredDType.Bool, [2], () => new byte[] { 0, 1 }),
            new("wide", StoredDType.F64, [1], () => BitConverter.GetBytes(0.5)),
        ])));
        return corpus;
    }

    private static byte[] WriteToBytes(IReadOnlyList<TensorToWrite> tensors)
    {
        string tmp = Path.GetTempFileName();
        try
        {
            SafeTensorsFile.Write(tmp, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            return File.ReadAllBytes(tmp);
        }
        finally { File.Delete(tmp); }
    }

    private static void OpenAndReadAll(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        foreach (var (name, entry) in file.Entries)
        {
            file.Read(name);
            if (entry.DType is StoredDType.F16 or StoredDType.BF16) file.ReadHalf(name);
        }
    }

    private void RunSafeTensors(int seed, int variants, TimeSpan limit)
    {
        var corpus = SafeTensorsCorpus();
        var mutator = SafeTensorsMutator.HeaderMutator();
        var rng = new Random(seed);
        string path = Path.Combine(_dir, "fuzz.safetensors");
        foreach (var (name, bytes) in corpus)
        {
            File.WriteAllBytes(path, bytes);
            OpenAndReadAll(path); // the originals read, and the code is compiled before the clock runs
        }
        var tally = new FuzzTally("safetensors", typeof(CheckpointException));
        for (int v = 0; v < variants; v++)
        {
            var (name, original) = corpus[v % corpus.Count];
            byte[] mutated = SafeTensorsMutator.Mutate(original, mutator, rng, out string how);
            File.WriteAllBytes(path, mutated);
            tally.Run($"variant {v} of {name} ({how})", path, () => OpenAndReadAll(path));
        }
        tally.Report(output);
        tally.AssertComplete(variants, limit);
        Assert.True(tally.Count("success") > 0 && tally.Count(nameof(CheckpointException)) > 0, "the mutations should both keep and break files");
    }

    private static readonly string[] ShardNames = ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"];

    /// <summary>The sharded fixture's shards and two small shards of a hand-made index, with a foreign safetensors file and a text file beside them.</summary>
    private List<(string Name, string Json)> IndexCorpus()
    {
        string fixture = Fixtures.Path("models", "depth_pro_tiny_batch2_bf16_sharded");
        foreach (string shard in ShardNames) File.Copy(Path.Combine(fixture, shard), Path.Combine(_dir, shard));
        File.WriteAllBytes(Path.Combine(_dir, "a.safetensors"), SafeTensorsWriter.BuildF32(("x", [2], [1, 2]), ("y", [1], [3])));
        File.WriteAllBytes(Path.Combine(_dir, "b.safetensors"), SafeTensorsWriter.BuildF32(("z", [1, 2], [4, 5])));
        File.WriteAllBytes(Path.Combine(_dir, "other.safetensors"), SafeTensorsWriter.BuildF32(("foreign", [1], [6])));
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not a safetensors file, but long enough to have a header length");
        return
        [
            ("fixture index", File.ReadAllText(Path.Combine(fixture, "model.safetensors.index.json"))),
            ("hand-made index", """{"metadata": {"total_size": 20}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}"""),
        ];
    }

    private void RunIndex(int seed, int variants, TimeSpan limit)
    {
        var corpus = IndexCorpus();
        string[] files = [.. ShardNames, "a.safetensors", "b.safetensors", "other.safetensors", "missing.safetensors", "notes.txt",
            "model.safetensors.index.json", "../a.safetensors", "sub/a.safetensors", "/etc/hostname", "", ".", "..", "a\u0000b"];
        var mutator = new JsonMutator(JsonMutator.StringsOf(corpus.Select(c => c.Json)).Take(50).Concat(files).ToList());
        var rng = new Random(seed);
        string path = Path.Combine(_dir, "model.safetensors.index.json");
        void OpenAndRead()
        {
            using var checkpoint = Checkpoint.OpenIndex(path);
            foreach (string name in checkpoint.Names) checkpoint.Read(name);
        }
        foreach (var (_, json) in corpus)
        {
            File.WriteAllText(path, json);
            OpenAndRead();
        }
        var tally = new FuzzTally("shard index", typeof(CheckpointException));
        for (int v = 0; v < variants; v++)
        {
            var (name, original) = corpus[v % corpus.Count];
            File.WriteAllText(path, MutateIndex(original, files, mutator, rng, out string how));
            // A shard that the index sends a tensor to may be the one that fails, and names itself.
            tally.Run($"variant {v} of {name} ({how})", _dir, OpenAndRead);
        }
        tally.Report(output);
        tally.AssertComplete(variants, limit);
        Assert.True(tally.Count("success") > 0 && tally.Count(nameof(CheckpointException)) > 0, "the mutations should both keep and break indexes");
    }

    private static string MutateIndex(string json, string[] files, JsonMutator mutator, Random rng, out string how)
    {
        var root = JsonNode.Parse(json)!.AsObject();
        var map = root["weight_map"]!.AsObject();
        var names = map.Select(p => p.Key).ToList();
        string Pick() => names[rng.Next(names.Count)];
        switch (rng.Next(8))
        {
            case 0 or 1 or 2:
            {
                string mutated = mutator.Mutate(json, rng, out string what, p => p.StartsWith("$.weight_map", StringComparison.Ordinal));
                how = what;
                return mutated;
            }
            case 3 or 4:
            {
                string t = Pick(), file = files[rng.Next(files.Length)];
                map[t] = file;
                how = $"'{t}' sent to '{file}'";
                break;
            }
            case 5:
            {
                string t = Pick();
                map.Remove(t);
                how = $"'{t}' not listed";
                break;
            }
            case 6:
            {
                string file = files[rng.Next(ShardNames.Length + 2)];
                map["ghost.weight"] = file;
                how = $"'ghost.weight' listed in '{file}'";
                break;
            }
            default:
            {
                // A tensor listed twice (JSON allows the repeated key), with the same or another shard.
                string t = Pick(), file = rng.Next(2) == 0 ? map[t]!.GetValue<string>() : files[rng.Next(ShardNames.Length + 2)];
                string text = root.ToJsonString();
                int at = text.IndexOf("\"weight_map\":{", StringComparison.Ordinal) + "\"weight_map\":{".Length;
                how = $"'{t}' listed twice, again in '{file}'";
                return text[..at] + $"{JsonSerializer.Serialize(t)}:{JsonSerializer.Serialize(file)}," + text[at..];
            }
        }
        return root.ToJsonString();
    }
}
