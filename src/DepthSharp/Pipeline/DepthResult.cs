using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>What the values of a depth map are.</summary>
public enum DepthKind
{
    /// <summary>Metres from the camera along its axis (DepthPro with a focal length, ZoeDepth, metric Depth Anything).</summary>
    Metric,

    /// <summary>Depth up to an unknown scale, larger is farther (DepthPro's canonical depth when no focal length is known).</summary>
    Relative,

    /// <summary>Relative inverse depth, like disparity: larger is nearer, up to an unknown scale and shift (DPT, relative Depth Anything).</summary>
    RelativeInverse,
}

/// <summary>Where the focal length used to scale metric depth came from.</summary>
public enum FocalLengthSource
{
    /// <summary>No focal length is known.</summary>
    None,
    /// <summary>The model's own estimate (DepthPro's field-of-view head).</summary>
    Model,
    /// <summary>The picture's EXIF 35 mm-equivalent focal length.</summary>
    Exif,
    /// <summary>Given by the user (<see cref="DepthEstimatorOptions.FocalLengthPixels"/>).</summary>
    User,
}

/// <summary>How a depth map is coloured for people; near is warm either way (see <see cref="DepthExport.Colorize"/>).</summary>
public enum DepthColoring
{
    /// <summary>
    /// Over inverse depth, as Apple's DepthPro tool shows it: inverse-depth maps as they are, depth maps over 1/depth.
    /// </summary>
    Inverse,

    /// <summary>
    /// Linearly in depth (over −depth), for maps that can reach zero, where an inverse blows up (metric Depth Anything,
    /// whose bicubic resize can reach it).
    /// </summary>
    Linear,
}

/// <summary>
/// One picture's depth at its own size, with the camera estimate where the model gives one, and for models with
/// several domain heads (ZoeDepth) the name of the head that produced it.
/// </summary>
/// <param name="Depth">Row-major <paramref name="Height"/> × <paramref name="Width"/> values of <paramref name="Kind"/>.</param>
/// <param name="Width">The picture's width.</param>
/// <param name="Height">The picture's height.</param>
/// <param name="Kind">What the values are.</param>
/// <param name="FieldOfView">Horizontal field of view in degrees, when the model estimates one.</param>
/// <param name="FocalLength">Focal length in pixels of the picture, when known.</param>
/// <param name="FocalLengthSource">Where <paramref name="FocalLength"/> came from.</param>
/// <param name="Domain">The domain head used (ZoeDepth's nyu or kitti), or null.</param>
public sealed record DepthResult(
    float[] Depth, int Width, int Height, DepthKind Kind,
    double? FieldOfView, double? FocalLength, FocalLengthSource FocalLengthSource, string? Domain = null)
{
    /// <summary>The depth as a [Height, Width] tensor over the same array.</summary>
    public Tensor AsTensor() => new(Depth, Height, Width);

    /// <summary>How the family draws this kind of depth (set by the estimator from the family's descriptor).</summary>
    public DepthColoring Coloring { get; init; }
}

/// <summary>One picture for <see cref="DepthEstimator.Estimate(IReadOnlyList{DepthInput}, IProgress{Models.ModelProgress}?, CancellationToken)"/>.</summary>
/// <param name="Picture">The decoded, upright picture with its EXIF data.</param>
/// <param name="Extra">
/// The per-picture input a family may take besides the picture (<see cref="DepthModelFamily.ExtraInput"/>, e.g. a
/// low-resolution metric depth "prompt" map [h, w], raw as stored, which the family's processor scales to metres); null
/// when none is given.
/// </param>
public sealed record DepthInput(LoadedImage Picture, Tensor? Extra = null);
