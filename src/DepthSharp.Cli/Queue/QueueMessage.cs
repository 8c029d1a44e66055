using System.Text.Json;

namespace DepthSharp.Cli.Queue;

/// <summary>A message that cannot be turned into a picture to process: dead-lettered at once, since no retry can fix it.</summary>
internal sealed class QueueMessageException(string message) : Exception(message);

/// <summary>
/// One picture to process, as enqueue publishes it and worker reads it: a JSON object
/// <c>{"path": "/abs/input.jpg", "relative_path": "sub/input.jpg"}</c>. <c>path</c> is absolute, as every worker
/// must see the pictures at the same place (a shared volume); <c>relative_path</c> is the picture's path relative to
/// the input root enqueue was given, and places its outputs under the worker's --output folder as estimate would.
/// </summary>
internal sealed record QueueMessage(string Path, string RelativePath)
{
    /// <summary>The message's content type.</summary>
    public const string ContentType = "application/json";

    /// <summary>The message for a picture found by <see cref="InputExpander"/>.</summary>
    public static QueueMessage For(InputPicture picture) =>
        new(System.IO.Path.GetFullPath(picture.Path), picture.RelativePath.Replace('\\', '/'));

    /// <summary>The JSON body.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("path", Path);
            json.WriteString("relative_path", RelativePath);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Reads a body. Throws <see cref="QueueMessageException"/> when it is not such an object, the path is not absolute,
    /// or the relative path could place outputs outside the output folder (rooted, or with a '..' segment).
    /// </summary>
    public static QueueMessage Parse(ReadOnlySpan<byte> body)
    {
        string path, relative;
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("path", out var p) || p.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("relative_path", out var r) || r.ValueKind != JsonValueKind.String)
                throw new QueueMessageException("the message is not {\"path\": ..., \"relative_path\": ...}");
            path = p.GetString()!;
            relative = r.GetString()!;
        }
        catch (JsonException e)
        {
            throw new QueueMessageException($"the message is not JSON ({e.Message})");
        }
        if (!System.IO.Path.IsPathFullyQualified(path))
            throw new QueueMessageException($"the message's path '{path}' is not absolute");
        var segments = relative.Split('/', '\\');
        if (relative.Length == 0 || System.IO.Path.IsPathRooted(relative) || segments.Any(s => s is "" or "." or ".."))
            throw new QueueMessageException($"the message's relative_path '{relative}' is not a plain relative path inside the output folder");
        return new QueueMessage(path, relative);
    }

    /// <summary>The picture for the per-picture step: outputs at &lt;output&gt;/&lt;relative path without its extension&gt;.</summary>
    public InputPicture ToInput() => new(Path, System.IO.Path.ChangeExtension(RelativePath, null));
}
