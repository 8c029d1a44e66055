namespace DepthSharp;

/// <summary>Base of every error DepthSharp raises on bad input; the message names the file and the problem.</summary>
public class DepthSharpException : Exception
{
    public DepthSharpException(string message) : base(message) { }
    public DepthSharpException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A picture that cannot be decoded or encoded: broken, truncated, unsupported, or too large.</summary>
public sealed class ImageFormatException : DepthSharpException
{
    public string? FileName { get; }
    public ImageFormatException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;
    public ImageFormatException(string? fileName, string problem, Exception inner)
        : base(fileName is null ? problem : $"{fileName}: {problem}", inner) => FileName = fileName;
}

/// <summary>A checkpoint (safetensors file or shard index) that is broken or does not fit the model.</summary>
public sealed class CheckpointException : DepthSharpException
{
    public string? FileName { get; }
    public CheckpointException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;
}

/// <summary>A config.json or preprocessor_config.json with a missing, unknown or impossible value.</summary>
public sealed class ConfigException : DepthSharpException
{
    public string? FileName { get; }
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
public enum HubErrorKind { InvalidModelId, Unauthorized, RepoNotFound, RevisionNotFound, FileNotFound, NotCached, Transfer, Integrity, Locked }

/// <summary>A model that cannot be found, downloaded or verified on the Hugging Face Hub or in its local cache.</summary>
public sealed class HubException : DepthSharpException
{
    public HubErrorKind Kind { get; }
    public HubException(HubErrorKind kind, string message) : base(message) => Kind = kind;
    public HubException(HubErrorKind kind, string message, Exception inner) : base(message, inner) => Kind = kind;
}
