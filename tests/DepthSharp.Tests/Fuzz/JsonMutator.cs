using System.Text;
using System.Text.Json.Nodes;

namespace DepthSharp.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a JSON document that keep it JSON (so they reach past the parser): one value, anywhere in the
/// tree, replaced by a value of another type (null, strings, numbers small, negative, fractional, huge and beyond
/// double, booleans, lists, objects), nudged (numbers), swapped for another string the corpus uses, removed, or joined
/// by an extra element or key; or a key repeated. A few mutations work on the text instead (bit flips, truncation).
/// </summary>
internal sealed class JsonMutator(IReadOnlyList<string> corpusStrings)
{
    private static readonly string[] Values =
    [
        "null", "\"\"", "\"x\"", "\"-1\"", "0", "1", "-1", "2", "3.5", "-7", "0.0001", "1e9", "2147483647", "2147483648", "-2147483649",
        "9223372036854775807", "18446744073709551616", "1e300", "-1e300", "1e400", "true", "false", "[]", "[1]", "[null]",
        "[\"a\"]", "[1e9, -1]", "[0.5, 2]", "{}", "{\"a\": 1}", "{\"height\": 1e9, \"width\": -1}",
    ];

    /// <summary>Every string value in the documents, to swap for one another (a dtype for a dtype, an activation for a file name).</summary>
    public static List<string> StringsOf(IEnumerable<string> documents)
    {
        var strings = new SortedSet<string>(StringComparer.Ordinal);
        void Walk(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o: foreach (var (_, v) in o) Walk(v); break;
                case JsonArray a: foreach (var v in a) Walk(v); break;
                case JsonValue v when v.TryGetValue(out string? s): strings.Add(s); break;
            }
        }
        foreach (var d in documents) Walk(JsonNode.Parse(d));
        return strings.ToList();
    }

    /// <summary>Every node with its parent and place, in document order; <paramref name="path"/> names it as $.a[0].b.</summary>
    public static List<(JsonNode? Parent, string? Key, int Index, JsonNode? Node, string Path)> Nodes(JsonNode root)
    {
        var all = new List<(JsonNode?, string?, int, JsonNode?, string)>();
        void Walk(JsonNode? parent, string? key, int index, JsonNode? node, string path)
        {
            all.Add((parent, key, index, node, path));
            if (node is JsonObject o)
                foreach (var (k, v) in o.ToList()) Walk(o, k, -1, v, $"{path}.{k}");
            else if (node is JsonArray a)
                for (int i = 0; i < a.Count; i++) Walk(a, null, i, a[i], $"{path}[{i}]");
        }
        Walk(null, null, -1, root, "$");
        return all;
    }

    /// <summary>
    /// One mutation of <paramref name="json"/>; <paramref name="focus"/>, when given, picks the nodes (by path) that most
    /// mutations aim at. <paramref name="how"/> says what was done.
    /// </summary>
    public string Mutate(string json, Random rng, out string how, Func<string, bool>? focus = null)
    {
        if (rng.Next(10) == 0) return MutateText(json, rng, out how);
        var root = JsonNode.Parse(json)!;
        var nodes = Nodes(root);
        var candidates = focus is not null && rng.Next(5) != 0 ? nodes.Where(n => focus(n.Path)).ToList() : nodes;
        if (candidates.Count == 0) candidates = nodes;
        var (parent, key, index, node, path) = candidates[rng.Next(candidates.Count)];
        if (parent is null)
        {
            // The root itself: another type altogether, or a key repeated with another value.
            if (root is JsonObject obj && obj.Count > 0 && rng.Next(2) == 0)
                return RepeatKey(json, obj, rng, out how);
            string v = Values[rng.Next(Values.Length)];
            how = $"root replaced by {v}";
            return v;
        }
        switch (rng.Next(8))
        {
            case 0 or 1 or 2:
            {
                string v = Values[rng.Next(Values.Length)];
                Replace(parent, key, index, JsonNode.Parse(v));
                how = $"{path} = {v}";
                break;
            }
            case 3 when node is JsonValue number && number.TryGetValue(out double d):
            {
                double[] nudged = [d + 1, d - 1, -d, d * 2, 0, d * 1000, Math.Floor(d / 2), d + 0.5];
                double v = nudged[rng.Next(nudged.Length)];
                Replace(parent, key, index, JsonValue.Create(v));
                how = $"{path} = {v} (was {d})";
                break;
            }
            case 4 when corpusStrings.Count > 0:
            {
                string v = corpusStrings[rng.Next(corpusStrings.Count)];
                Replace(parent, key, index, JsonValue.Create(v));
                how = $"{path} = \"{v}\"";
                break;
            }
            case 5:
                if (parent is JsonObject o) o.Remove(key!);
                else ((JsonArray)parent).RemoveAt(index);
                how = $"{path} removed";
                break;
            case 6 when node is JsonArray array:
            {
                var extra = array.Count > 0 && rng.Next(2) == 0 ? array[rng.Next(array.Count)]?.DeepClone() : JsonNode.Parse(Values[rng.Next(Values.Length)]);
                array.Insert(rng.Next(array.Count + 1), extra);
                how = $"{path}: element {extra?.ToJsonString() ?? "null"} inserted";
                break;
            }
            case 6 when node is JsonObject inner:
            {
                string v = Values[rng.Next(Values.Length)];
                string k = rng.Next(2) == 0 && corpusStrings.Count > 0 ? corpusStrings[rng.Next(corpusStrings.Count)] : "unexpected_key";
                if (!inner.ContainsKey(k)) inner[k] = JsonNode.Parse(v);
                how = $"{path}.{k} = {v} added";
                break;
            }
            default:
            {
                // The same value as a string, or a list of itself: a type swap that keeps the content.
                string text = node?.ToJsonString() ?? "null";
                JsonNode v = rng.Next(2) == 0 ? JsonValue.Create(text) : new JsonArray(node?.DeepClone());
                Replace(parent, key, index, v);
                how = $"{path} = {v.ToJsonString()}";
                break;
            }
        }
        return root.ToJsonString();
    }

    private static void Replace(JsonNode parent, string? key, int index, JsonNode? value)
    {
        if (parent is JsonObject o) o[key!] = value;
        else ((JsonArray)parent)[index] = value;
    }

    /// <summary>A top-level key written twice, the copy first with another value: JSON parsers disagree on which wins.</summary>
    private static string RepeatKey(string json, JsonObject root, Random rng, out string how)
    {
        string key = root.ElementAt(rng.Next(root.Count)).Key;
        string value = Values[rng.Next(Values.Length)];
        int brace = json.IndexOf('{');
        how = $"key '{key}' repeated with {value}";
        return json[..(brace + 1)] + $"{System.Text.Json.JsonSerializer.Serialize(key)}: {value}, " + json[(brace + 1)..];
    }

    private static string MutateText(string json, Random rng, out string how)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        switch (rng.Next(3))
        {
            case 0:
            {
                int n = rng.Next(1, 5);
                for (int i = 0; i < n; i++) bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8));
                how = $"{n} bit flips in the text";
                return Encoding.UTF8.GetString(bytes);
            }
            case 1:
            {
                int at = rng.Next(bytes.Length);
                how = $"text truncated to {at} bytes";
                return Encoding.UTF8.GetString(bytes, 0, at);
            }
            default:
            {
                int at = rng.Next(bytes.Length);
                string[] inserts = [",", "]", "}", "\"", "{", "[", "\\u0000", "//", "/*", "\u00ff"];
                string ins = inserts[rng.Next(inserts.Length)];
                how = $"'{ins}' inserted at {at}";
                return Encoding.UTF8.GetString(bytes, 0, at) + ins + Encoding.UTF8.GetString(bytes, at, bytes.Length - at);
            }
        }
    }
}
