using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Cli;

/// <summary>
/// Hidden, for measurements: a loadable model folder with random weights for a released checkpoint that cannot be
/// downloaded here, from the fixtures' config.json, preprocessor_config.json and weights.json (every tensor's name and
/// shape). The values are <see cref="RandomWeights"/>' (bounded through deep stacks, so the depth stays finite).
/// </summary>
internal static class RandomCheckpointCommand
{
    public static Command Create()
    {
        var from = new Argument<string>("from") { Description = "Folder with config.json, preprocessor_config.json and weights.json" };
        var output = new Option<string>("--output") { Description = "Model folder to write", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "How every tensor is stored: f32, f16 or bf16", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "f16", "bf16");
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var command = new Command("random-checkpoint", "Write a model folder with random weights of a weights.json's names and shapes") { from, output, dtype, seed };
        command.Hidden = true;
        command.SetAction((parse, _) => CliErrors.Run(() =>
        {
            string source = parse.GetValue(from)!, dir = parse.GetValue(output)!;
            var shapes = ReadShapes(Path.Combine(source, "weights.json"));
            Directory.CreateDirectory(dir);
            foreach (var name in new[] { "config.json", "preprocessor_config.json" })
                if (File.Exists(Path.Combine(source, name))) File.WriteAllBytes(Path.Combine(dir, name), File.ReadAllBytes(Path.Combine(source, name)));
            var stored = parse.GetValue(dtype) switch { "f16" => StoredDType.F16, "bf16" => StoredDType.BF16, _ => StoredDType.F32 };
            var random = new RandomWeights(parse.GetValue(seed));
            var tensors = shapes.Select(s => new TensorToWrite(s.Key, stored, s.Value, () => Encode(random.Get(s.Key, s.Value).Data, stored))).ToList();
            string path = Path.Combine(dir, "model.safetensors");
            SafeTensorsFile.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            Console.Error.WriteLine($"{path}: {tensors.Count} tensors, {new FileInfo(path).Length >> 20} MiB");
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Dictionary<string, int[]> ReadShapes(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.GetProperty("tensors").EnumerateObject()
                .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray(), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new ConfigException(path, $"not a weights.json ({{\"tensors\": {{name: shape}}}}): {e.Message}");
        }
    }

    private static ReadOnlyMemory<byte> Encode(float[] values, StoredDType dtype)
    {
        if (dtype == StoredDType.F32) return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var bits = HalfConvert.Narrow(values, dtype == StoredDType.F16 ? HalfKind.F16 : HalfKind.BF16);
        return MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
    }
}
