using System.Text;
using System.Text.Json.Nodes;
using DepthSharp.Tests.Checkpoints;

namespace DepthSharp.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a .safetensors file: JSON values of the wrong type or range anywhere in the header (mostly the
/// tensors' fields), dtype, shape and offset lies, a lying header length, truncation, bit flips, data too long or too
/// short, and non-finite values in the data.
/// </summary>
internal static class SafeTensorsMutator
{
    /// <summary>A header mutator that swaps in dtype names and the metadata's strings.</summary>
    public static JsonMutator HeaderMutator() => new(["F32", "F16", "BF16", "I64", "U8", "BOOL", "F64", "F8_E4M3", "__metadata__", "format", "pt"]);

    public sealed record Parsed(string Header, byte[] Data);

    public static Parsed Split(byte[] file)
    {
        int length = (int)BitConverter.ToUInt64(file, 0);
        return new Parsed(Encoding.UTF8.GetString(file, 8, length), file[(8 + length)..]);
    }

    public static byte[] Mutate(byte[] original, JsonMutator mutator, Random rng, out string how)
    {
        var (header, data) = Split(original);
        var root = JsonNode.Parse(header)!.AsObject();
        var tensorNames = root.Select(p => p.Key).Where(k => k != "__metadata__").ToList();
        string Pick() => tensorNames[rng.Next(tensorNames.Count)];
        switch (rng.Next(12))
        {
            case 0 or 1 or 2 or 3:
            {
                // Any value of the header, mostly the tensors' fields and their elements.
                string json = mutator.Mutate(header, rng, out string what, p => p.Count(c => c == '.') >= 2 || p.Contains('['));
                how = "header: " + what;
                return SafeTensorsWriter.Build(json, data);
            }
            case 4:
            {
                string t = Pick();
                string[] dtypes = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64"];
                string dtype = dtypes[rng.Next(dtypes.Length)];
                root[t]!["dtype"] = dtype;
                how = $"'{t}' dtype lies: {dtype}";
                return SafeTensorsWriter.Build(root.ToJsonString(), data);
            }
            case 5:
            {
                string t = Pick();
                var shape = root[t]!["shape"]!.AsArray();
                int op = rng.Next(4);
                if (op == 0 && shape.Count > 0) { int i = rng.Next(shape.Count); shape[i] = shape[i]!.GetValue<int>() + rng.Next(-1, 3); }
                else if (op == 1) shape.Insert(rng.Next(shape.Count + 1), JsonValue.Create(rng.Next(1, 3)));
                else if (op == 2 && shape.Count > 0) shape.RemoveAt(rng.Next(shape.Count));
                else root[t]!["shape"] = new JsonArray(shape.Select(d => (JsonNode?)JsonValue.Create(d!.GetValue<int>() * 2)).ToArray());
                how = $"'{t}' shape lies: {root[t]!["shape"]!.ToJsonString()}";
                return SafeTensorsWriter.Build(root.ToJsonString(), data);
            }
            case 6:
            {
                string t = Pick(), u = Pick();
                var off = root[t]!["data_offsets"]!.AsArray();
                switch (rng.Next(4))
                {
                    case 0: { int i = rng.Next(2); off[i] = off[i]!.GetValue<long>() + new[] { -8, -4, -2, -1, 1, 2, 4, 8 }[rng.Next(8)]; break; }
                    case 1: { var other = root[u]!["data_offsets"]!.DeepClone(); root[u]!["data_offsets"] = off.DeepClone(); root[t]!["data_offsets"] = other; break; }
                    case 2: root[t]!["data_offsets"] = new JsonArray(0, data.Length); break;
                    default: { long shift = rng.Next(1, 64); off[0] = off[0]!.GetValue<long>() + shift; off[1] = off[1]!.GetValue<long>() + shift; break; }
                }
                how = $"'{t}' offsets lie: {root[t]!["data_offsets"]!.ToJsonString()}";
                return SafeTensorsWriter.Build(root.ToJsonString(), data);
            }
            case 7:
            {
                byte[] d = (byte[])original.Clone();
                ulong len = BitConverter.ToUInt64(d, 0);
                ulong[] lies = [0, 1, len - 1, len + 1, len + 7, len + 8, (ulong)d.Length, 1UL << 32, 1UL << 63, ulong.MaxValue, (ulong)rng.Next()];
                ulong lie = lies[rng.Next(lies.Length)];
                BitConverter.TryWriteBytes(d.AsSpan(0, 8), lie);
                how = $"header length lies: {lie} (is {len})";
                return d;
            }
            case 8:
            {
                int headerEnd = 8 + Encoding.UTF8.GetByteCount(header);
                int at = rng.Next(2) == 0 ? rng.Next(Math.Min(original.Length, headerEnd + 16)) : rng.Next(original.Length);
                how = $"truncated to {at} bytes";
                return original[..at];
            }
            case 9:
            {
                byte[] d = (byte[])original.Clone();
                int headerEnd = 8 + Encoding.UTF8.GetByteCount(header), n = rng.Next(1, 9);
                for (int i = 0; i < n; i++) d[rng.Next(2) == 0 ? rng.Next(headerEnd) : rng.Next(d.Length)] ^= (byte)(1 << rng.Next(8));
                how = $"{n} bit flips";
                return d;
            }
            case 10:
            {
                int n = rng.Next(1, 17);
                if (rng.Next(2) == 0 || data.Length < n)
                {
                    var extra = new byte[n];
                    rng.NextBytes(extra);
                    how = $"{n} bytes after the data";
                    return [.. original, .. extra];
                }
                how = $"data {n} bytes short";
                return original[..^n];
            }
            default:
                return Poison(original, data.Length, rng, out how);
        }
    }

    /// <summary>
    /// A few float32 words of the data set to NaN, ±∞ or the largest float: values no model can use, which the reader passes
    /// on and the estimator's output check refuses.
    /// </summary>
    public static byte[] Poison(byte[] original, Random rng, out string how) => Poison(original, Split(original).Data.Length, rng, out how);

    private static byte[] Poison(byte[] original, int dataLength, Random rng, out string how)
    {
        byte[] d = (byte[])original.Clone();
        int dataStart = d.Length - dataLength, n = rng.Next(1, 5);
        float[] bad = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.MaxValue];
        for (int i = 0; i < n && dataLength >= 4; i++)
            BitConverter.TryWriteBytes(d.AsSpan(dataStart + rng.Next(dataLength / 4) * 4, 4), bad[rng.Next(bad.Length)]);
        how = $"{n} data words set to non-finite floats";
        return d;
    }
}
