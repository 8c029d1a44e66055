using System.Text.Json;

namespace DepthSharp.Cli.Batch;

/// <summary>What happened to one picture in one run.</summary>
internal enum PictureStatus
{
    /// <summary>Estimated and its outputs put in place.</summary>
    Written,

    /// <summary>Its outputs were already there for this input, model and options: nothing done.</summary>
    UpToDate,

    /// <summary>The picture cannot be read (a bad or unsupported file): retrying cannot help.</summary>
    Failed,
}

/// <summary>One line of a done log.</summary>
internal sealed record DoneRecord(string Path, string Sha256, PictureStatus Status, string? Error);

/// <summary>
/// A done log, <c>DIR/.depthsharp/done-*.jsonl</c> (a shard's is <c>done-I-of-N.jsonl</c>): one JSON line per picture
/// (path relative to the input root, the input's SHA-256, status, error), appended and flushed as each picture ends,
/// so a killed process's log still says what it finished. A resubmitted shard appends to the same file; verify reads
/// every <c>done-*.jsonl</c> and the last line for a path wins. Processes that run at the same time should each have
/// their own file (appends from several machines to one file on a network file system may interleave).
/// </summary>
internal sealed class DoneLog : IDisposable
{
    /// <summary>The folder inside the output folder that holds the done logs.</summary>
    public const string FolderName = ".depthsharp";

    // Opened at the first line, so a run that ends before any picture does (a model that fails to run) leaves nothing.
    private FileStream? _file;
    private readonly Lock _lock = new();

    /// <param name="outputDir">The output folder.</param>
    /// <param name="name">The file's name inside <see cref="FolderName"/>: <c>done-</c>…<c>.jsonl</c>, so that verify reads it.</param>
    public DoneLog(string outputDir, string name)
    {
        if (!name.StartsWith("done-", StringComparison.Ordinal) || !name.EndsWith(".jsonl", StringComparison.Ordinal) || Path.GetFileName(name) != name)
            throw new ArgumentException($"a done log's name is done-….jsonl, not '{name}'", nameof(name));
        FilePath = Path.Combine(outputDir, FolderName, name);
    }

    /// <summary>The log's path.</summary>
    public string FilePath { get; }

    /// <summary>Appends the record as one line and flushes it to the operating system.</summary>
    public void Append(DoneRecord record)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("path", record.Path.Replace('\\', '/'));
            json.WriteString("sha256", record.Sha256);
            json.WriteString("status", StatusName(record.Status));
            if (record.Error is null) json.WriteNull("error");
            else json.WriteString("error", record.Error);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        lock (_lock)
        {
            // One write per line: the line reaches the file whole even when another process appends too.
            _file ??= Open();
            _file.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
            _file.Flush();
        }
    }

    private FileStream Open()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        // Shared so that verify can read it while the shard runs.
        return new FileStream(FilePath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
    }

    public void Dispose() => _file?.Dispose();

    /// <summary>The status as written in the log: written, up-to-date, failed.</summary>
    public static string StatusName(PictureStatus status) => status switch
    {
        PictureStatus.Written => "written",
        PictureStatus.UpToDate => "up-to-date",
        _ => "failed",
    };

    /// <summary>
    /// Every record of every done log under the output folder, file by file in name order, lines in order. A line that
    /// does not parse (a log cut off mid-line by a node failure) is left out.
    /// </summary>
    public static List<DoneRecord> ReadAll(string outputDir)
    {
        var records = new List<DoneRecord>();
        string folder = Path.Combine(outputDir, FolderName);
        if (!Directory.Exists(folder)) return records;
        foreach (var file in Directory.EnumerateFiles(folder, "done-*.jsonl").Order(StringComparer.Ordinal))
        {
            using var reader = new StreamReader(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
            while (reader.ReadLine() is { } line)
                if (Parse(line) is { } record) records.Add(record);
        }
        return records;
    }

    private static DoneRecord? Parse(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            PictureStatus? status = root.GetProperty("status").GetString() switch
            {
                "written" => PictureStatus.Written,
                "up-to-date" => PictureStatus.UpToDate,
                "failed" => PictureStatus.Failed,
                _ => null,
            };
            if (status is null) return null;
            var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            return new DoneRecord(root.GetProperty("path").GetString()!, root.GetProperty("sha256").GetString()!, status.Value, error);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
