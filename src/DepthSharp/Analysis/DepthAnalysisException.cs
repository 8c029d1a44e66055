namespace DepthSharp.Analysis;

/// <summary>Why a calibration, region or frame alignment was refused; lets callers (and tests) tell the cases apart.</summary>
public enum DepthAnalysisError
{
    /// <summary>A known-depth point or a region lies outside the picture.</summary>
    OutsidePicture,

    /// <summary>A known distance is zero, negative or not finite.</summary>
    InvalidDistance,

    /// <summary>Fewer points than the fit has parameters.</summary>
    TooFewPoints,

    /// <summary>The points cannot determine the fit (e.g. the same model output at every point of a two-parameter fit).</summary>
    Undetermined,

    /// <summary>The fit would give a negative, zero or non-finite depth somewhere in the picture.</summary>
    InvalidDepth,

    /// <summary>A region with no pixels, or none with a finite depth.</summary>
    EmptyRegion,

    /// <summary>Frames of a sequence that differ in size or kind.</summary>
    MismatchedFrames,
}

/// <summary>A calibration, region measurement or frame alignment that cannot be done; the message says why.</summary>
public sealed class DepthAnalysisException(DepthAnalysisError kind, string message) : DepthSharpException(message)
{
    /// <summary>Which refusal it is.</summary>
    public DepthAnalysisError Kind { get; } = kind;
}
