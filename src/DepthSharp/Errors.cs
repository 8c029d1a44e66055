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
