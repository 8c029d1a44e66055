namespace DepthSharp;

/// <summary>Base of every error DepthSharp raises on bad input; the message names the file and the problem.</summary>
public class DepthSharpException : Exception
{
    /// <summary>An error with <paramref name="message"/>, which names the file and the problem.</summary>
    /// <param name="message">The whole message shown to the user.</param>
    public DepthSharpException(string message) : base(message) { }

    /// <summary>An error with <paramref name="message"/> caused by <paramref name="inner"/> (an I/O or JSON error).</summary>
    /// <param name="message">The whole message shown to the user.</param>
    /// <param name="inner">The exception that caused it.</param>
    public DepthSharpException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A picture that cannot be decoded or encoded: broken, truncated, unsupported, or too large.</summary>
public sealed class ImageFormatException : DepthSharpException
{
    /// <summary>The picture's file (or the name given for in-memory data); null when it has none.</summary>
    public string? FileName { get; }

    /// <summary>The error "<paramref name="fileName"/>: <paramref name="problem"/>" (just the problem without a file name).</summary>
    /// <param name="fileName">The picture's file, or null.</param>
    /// <param name="problem">What is wrong with it, e.g. "truncated in the scan data".</param>
    public ImageFormatException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;

    /// <summary>The error "<paramref name="fileName"/>: <paramref name="problem"/>", caused by <paramref name="inner"/>.</summary>
    /// <param name="fileName">The picture's file, or null.</param>
    /// <param name="problem">What is wrong with it.</param>
    /// <param name="inner">The exception that caused it (e.g. the I/O error reading the file).</param>
    public ImageFormatException(string? fileName, string problem, Exception inner)
        : base(fileName is null ? problem : $"{fileName}: {problem}", inner) => FileName = fileName;
}

/// <summary>A checkpoint (safetensors file or shard index) that is broken or does not fit the model.</summary>
public sealed class CheckpointException : DepthSharpException
{
    /// <summary>The safetensors file, shard index or model folder at fault; null when none is known.</summary>
    public string? FileName { get; }

    /// <summary>The error "<paramref name="fileName"/>: <paramref name="problem"/>" (just the problem without a file name).</summary>
    /// <param name="fileName">The checkpoint file or folder, or null.</param>
    /// <param name="problem">What is wrong, naming the tensor where there is one.</param>
    public CheckpointException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;
}

/// <summary>A config.json or preprocessor_config.json with a missing, unknown or impossible value.</summary>
public sealed class ConfigException : DepthSharpException
{
    /// <summary>The config file (or model folder) at fault; null for a config that came from no file.</summary>
    public string? FileName { get; }

    /// <summary>The error "<paramref name="fileName"/>: <paramref name="problem"/>" (just the problem without a file name).</summary>
    /// <param name="fileName">The config file, or null.</param>
    /// <param name="problem">What is wrong, starting with the field's name, e.g. "hidden_size: must be positive".</param>
    public ConfigException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;
}

/// <summary>
/// A model whose output is not finite (NaN or infinite depth, field of view or focal length): its weights are broken or
/// out of range, or its config makes them overflow. Nothing is returned, so nothing is written.
/// </summary>
public sealed class ModelOutputException : DepthSharpException
{
    /// <summary>The model's folder; null for a model built in memory.</summary>
    public string? ModelFolder { get; }

    /// <summary>The error "<paramref name="modelFolder"/>: <paramref name="problem"/>" (just the problem without a folder).</summary>
    /// <param name="modelFolder">The model's folder, or null.</param>
    /// <param name="problem">Which value is not finite, and in which picture.</param>
    public ModelOutputException(string? modelFolder, string problem)
        : base(modelFolder is null ? problem : $"{modelFolder}: {problem}") => ModelFolder = modelFolder;

    /// <summary>
    /// Refuses one picture's result (<paramref name="picture"/>: its 0-based place in a batch of several, else null) unless
    /// every value is finite: a NaN or infinity would break every writer downstream.
    /// </summary>
    internal static void ThrowIfNotFinite(string? modelFolder, int? picture, ReadOnlySpan<float> depth, double? fieldOfView, double? focalLength)
    {
        int bad = 0;
        foreach (float d in depth)
            if (!float.IsFinite(d)) bad++;
        string which = picture is int p ? $" for picture {p + 1}" : "";
        if (bad > 0)
            throw new ModelOutputException(modelFolder,
                $"the model's depth{which} has {bad} non-finite values (NaN or infinite) of {depth.Length}: its weights are broken or out of range");
        if (fieldOfView is double fov && !double.IsFinite(fov) || focalLength is double f && !double.IsFinite(f))
            throw new ModelOutputException(modelFolder,
                $"the model's field of view{which} is {fieldOfView} degrees, focal length {focalLength} px: not finite, its weights are broken or out of range");
    }
}

/// <summary>
/// A prompt depth map (Prompt Depth Anything's second input) that cannot be used: an unreadable or unsupported file, the
/// wrong shape, non-finite or constant values, or a count that does not match the pictures'.
/// </summary>
public sealed class PromptDepthException : DepthSharpException
{
    /// <summary>The prompt's file, when it came from one.</summary>
    public string? FileName { get; }
    /// <summary>The message is "<paramref name="fileName"/>: <paramref name="problem"/>", or the problem alone.</summary>
    public PromptDepthException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;
    /// <summary>As the other constructor, for a problem a lower-level error (a broken .npy or PNG) explains.</summary>
    public PromptDepthException(string? fileName, string problem, Exception inner)
        : base(fileName is null ? problem : $"{fileName}: {problem}", inner) => FileName = fileName;
}

/// <summary>Why a Hub model could not be resolved; lets callers (and tests) tell the cases apart without parsing messages.</summary>
public enum HubErrorKind
{
    /// <summary>The model id is not "owner/name" or "owner/name@revision" with the Hub's allowed characters.</summary>
    InvalidModelId,

    /// <summary>The Hub refused the request (HTTP 401 or 403): a gated or private model without a valid token.</summary>
    Unauthorized,

    /// <summary>No such repository on the Hub.</summary>
    RepoNotFound,

    /// <summary>The repository has no such branch, tag or commit.</summary>
    RevisionNotFound,

    /// <summary>The repository has no such file at that revision.</summary>
    FileNotFound,

    /// <summary>Offline, and the model is not in the local cache.</summary>
    NotCached,

    /// <summary>The download failed: network error, timeout, or an unexpected HTTP status.</summary>
    Transfer,

    /// <summary>A downloaded file's sha256 differs from the one the Hub announced for it; the download was discarded.</summary>
    Integrity,

    /// <summary>Another process holds the cache lock for the file for longer than the wait allows.</summary>
    Locked,
}

/// <summary>A model that cannot be found, downloaded or verified on the Hugging Face Hub or in its local cache.</summary>
public sealed class HubException : DepthSharpException
{
    /// <summary>Which of the failures it is.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>A Hub error of <paramref name="kind"/>.</summary>
    /// <param name="kind">Which failure it is.</param>
    /// <param name="message">The whole message shown to the user, naming the model and file.</param>
    public HubException(HubErrorKind kind, string message) : base(message) => Kind = kind;

    /// <summary>A Hub error of <paramref name="kind"/> caused by <paramref name="inner"/> (an HTTP or I/O error).</summary>
    /// <param name="kind">Which failure it is.</param>
    /// <param name="message">The whole message shown to the user, naming the model and file.</param>
    /// <param name="inner">The exception that caused it.</param>
    public HubException(HubErrorKind kind, string message, Exception inner) : base(message, inner) => Kind = kind;
}
