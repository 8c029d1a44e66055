using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using DepthSharp.Analysis;
using DepthSharp.Extensions.Hosting;
using DepthSharp.Pipeline;

namespace DepthSharp.Web;

/// <summary>
/// The id a result is shared under by the replicas of a scaled-out service: one SHA-256 over the picture's SHA-256 (and
/// the prompt depth's, for a model that takes one), the model's fingerprint, the settings that change a result and the
/// library's version. The same picture (and prompt) sent to any replica serving the same model with the same settings
/// gets the same id; a change to any of them gets another.
/// </summary>
internal static class ResultCacheKey
{
    /// <summary>Bumped when what is stored under a key changes shape.</summary>
    private const string Scheme = "depthsharp-result 1";

    private static readonly System.Buffers.SearchValues<char> Hex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>
    /// The library's version with its commit (source link's informational version): kernels and processors change
    /// numbers between commits, so a deployment of another build computes afresh rather than serving older numbers.
    /// </summary>
    private static readonly string LibraryVersion =
        typeof(DepthEstimator).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DepthEstimator).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// The id, 64 lower-case hex digits, for a picture's bytes as uploaded and, when one was sent, the prompt depth's bytes
    /// (Prompt Depth Anything's second input, which changes every number of the result).
    /// </summary>
    public static string For(ReadOnlySpan<byte> picture, string modelFingerprint, DepthEstimationOptions options, byte[]? promptDepth = null)
    {
        var text = new StringBuilder()
            .Append(Scheme).Append('\n')
            .Append("library ").Append(LibraryVersion).Append('\n')
            .Append("model ").Append(modelFingerprint).Append('\n')
            .Append("options ").Append(Options(options)).Append('\n')
            .Append("picture ").Append(Convert.ToHexStringLower(SHA256.HashData(picture)));
        // Without a prompt the text is as it was, so the other models' keys stay the same.
        if (promptDepth is not null) text.Append('\n').Append("prompt_depth ").Append(Convert.ToHexStringLower(SHA256.HashData(promptDepth)));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// The id of a shared result calibrated by <paramref name="known"/>: "{resultId}.{SHA-256 of the points as text}". Any
    /// replica derives the same id for the same calibration, and finds the model's output from the id's first part.
    /// </summary>
    public static string Calibrated(string resultId, IReadOnlyList<KnownDepth> known) =>
        $"{resultId}.{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(KnownText(known))))}";

    /// <summary>The model output's id in a calibrated result's id (<see cref="Calibrated"/>); null for any other id.</summary>
    public static string? CalibratedFrom(string id) =>
        id.Length == 64 + 1 + 64 && id[64] == '.' && !id.AsSpan(0, 64).ContainsAnyExcept(Hex) && !id.AsSpan(65).ContainsAnyExcept(Hex) ? id[..64] : null;

    /// <summary>Known points as text, in their order (the fit's sums run in it): "X,Y=METRES;…", the metres round-tripping.</summary>
    public static string KnownText(IReadOnlyList<KnownDepth> known) =>
        string.Join(';', known.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.X},{p.Y}={p.Metres:R}")));

    /// <summary>The points <see cref="KnownText"/> wrote; null when the text is not such a list.</summary>
    public static List<KnownDepth>? ParseKnown(string text)
    {
        var known = new List<KnownDepth>();
        foreach (string point in text.Split(';'))
        {
            if (KnownDepth.Parse(point, out _) is not { } p) return null;
            known.Add(p);
        }
        return known;
    }

    /// <summary>
    /// The settings that change a result, as text. Model is in the fingerprint instead (the files, not their path, so
    /// replicas holding the model at different paths share results); Threads, MaxPixels and LoadOnStart change no number.
    /// </summary>
    public static string Options(DepthEstimationOptions o)
    {
        var inv = CultureInfo.InvariantCulture;
        return string.Join(';',
            $"processor={o.ImageProcessor}",
            $"int8={o.Int8Weights}",
            $"fov={(o.UseFovModel is bool fov ? fov.ToString(inv) : "config")}",
            $"exif_focal={o.PreferExifFocalLength}",
            $"flip={o.FlipAverage}",
            $"focal={(o.FocalLengthPixels is double f ? f.ToString("R", inv) : "none")}",
            $"orient={o.ApplyExifOrientation}");
    }

    /// <summary>
    /// SHA-256 over the name and SHA-256 of each file that defines the model in its folder: config.json,
    /// preprocessor_config.json, the weights and their index. Two folders with the same files get the same fingerprint;
    /// a fine-tune with the same config but other weights gets another. Read once per process (about a second per GB).
    /// </summary>
    public static string ModelFingerprint(string folder)
    {
        var files = Directory.EnumerateFiles(folder)
            .Where(f => Path.GetFileName(f) is "config.json" or "preprocessor_config.json"
                || f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".safetensors.index.json", StringComparison.Ordinal))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal);
        using var all = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in files)
        {
            using var stream = File.OpenRead(file);
            all.AppendData(Encoding.UTF8.GetBytes($"{Path.GetFileName(file)} {Convert.ToHexStringLower(SHA256.HashData(stream))}\n"));
        }
        return Convert.ToHexStringLower(all.GetHashAndReset());
    }
}
