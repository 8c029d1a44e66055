using System.Security.Cryptography;
using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli.Batch;

/// <summary>A picture about to be processed: its input hash, where its outputs go, and whether they are already there.</summary>
internal sealed record PicturePlan(InputPicture Input, string Sha256, string Stem, bool UpToDate);

/// <summary>
/// An output folder written idempotently. Each picture's files go to a temporary name and are renamed into place,
/// &lt;stem&gt;.json last; the JSON's "source" records the input's SHA-256, the model and the options
/// (<see cref="Recipe"/>), so a picture whose JSON records the same, with every output it lists present, is up to
/// date and skipped. Each picture's end is appended to the shard's <see cref="DoneLog"/>.
/// Thread-safe for distinct pictures.
/// </summary>
internal sealed class OutputStore : IDisposable
{
    private readonly OutputWriter _writer;
    private readonly DoneLog _log;

    /// <param name="outputDir">The output folder.</param>
    /// <param name="doneLogName">The done log's file name (<see cref="Shard.DoneLogName"/> for a shard; see <see cref="DoneLog"/>).</param>
    /// <param name="writer">Writes the files of the formats asked for.</param>
    /// <param name="recipe">The model and options the outputs are made with.</param>
    public OutputStore(string outputDir, string doneLogName, OutputWriter writer, Recipe recipe)
    {
        OutputDir = outputDir;
        Recipe = recipe;
        _writer = writer;
        _log = new DoneLog(outputDir, doneLogName);
    }

    /// <summary>The output folder.</summary>
    public string OutputDir { get; }

    /// <summary>The model and options every output of this store is made with.</summary>
    public Recipe Recipe { get; }

    /// <summary>Hashes the input's bytes (the very bytes the caller decodes) and checks its outputs.</summary>
    public PicturePlan Plan(InputPicture input, ReadOnlySpan<byte> bytes)
    {
        string sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string stem = Path.Combine(OutputDir, input.RelativeStem);
        return new PicturePlan(input, sha256, stem, IsUpToDate(stem, sha256, Recipe));
    }

    /// <summary>
    /// Writes the picture's outputs (the JSON last, with <paramref name="extraJson"/>'s fields: calibration, regions) and
    /// records it as written; returns the paths written.
    /// </summary>
    public List<string> Commit(PicturePlan plan, RgbImage photo, DepthResult result, string modelType, TextWriter log,
        IReadOnlyDictionary<string, object?>? extraJson = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(plan.Stem))!);
        var written = _writer.Write(plan.Stem, photo, result, modelType, log, Recipe.Provenance(plan.Input.RelativePath, plan.Sha256), extraJson);
        _log.Append(new DoneRecord(plan.Input.RelativePath, plan.Sha256, PictureStatus.Written, null));
        return written;
    }

    /// <summary>Records a picture whose outputs were up to date.</summary>
    public void RecordUpToDate(PicturePlan plan) =>
        _log.Append(new DoneRecord(plan.Input.RelativePath, plan.Sha256, PictureStatus.UpToDate, null));

    /// <summary>Records a picture that cannot be processed whatever is retried (the file itself is bad).</summary>
    public void RecordFailure(PicturePlan plan, string error) =>
        _log.Append(new DoneRecord(plan.Input.RelativePath, plan.Sha256, PictureStatus.Failed, error));

    public void Dispose() => _log.Dispose();

    /// <summary>The lower-case hex SHA-256 of a file's bytes.</summary>
    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>
    /// Whether &lt;stem&gt;.json records this input hash (and, when <paramref name="recipe"/> is given, this recipe) and every
    /// file it lists exists. A JSON that cannot be read counts as not done.
    /// </summary>
    public static bool IsUpToDate(string stem, string sha256, Recipe? recipe)
    {
        string jsonPath = stem + ".json";
        if (!File.Exists(jsonPath)) return false;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(jsonPath));
            var root = doc.RootElement;
            if (!root.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object) return false;
            bool matches = recipe is null
                ? source.TryGetProperty("sha256", out var hash) && hash.ValueKind == JsonValueKind.String && hash.GetString() == sha256
                : recipe.Matches(source, sha256);
            if (!matches || !root.TryGetProperty("outputs", out var outputs) || outputs.ValueKind != JsonValueKind.Array) return false;
            string folder = Path.GetDirectoryName(Path.GetFullPath(jsonPath))!;
            return outputs.EnumerateArray().All(o => o.ValueKind == JsonValueKind.String && File.Exists(Path.Combine(folder, o.GetString()!)));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
