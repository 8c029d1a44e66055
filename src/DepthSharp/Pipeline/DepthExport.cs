using DepthSharp.Imaging;

namespace DepthSharp.Pipeline;

/// <summary>Why a result cannot be lifted into a point cloud in metres.</summary>
public enum PointCloudBlocker
{
    /// <summary>It can.</summary>
    None,

    /// <summary>Metric depth, but no focal length is known (the user can give one).</summary>
    NoFocalLength,

    /// <summary>Relative depth: the points would have no scale (the user can give one).</summary>
    NoScale,
}

/// <summary>A point cloud's depth: metres per pixel and the focal length in pixels to lift them through.</summary>
/// <param name="Metres">Row-major depth in metres; pixels with no depth are NaN.</param>
/// <param name="FocalLength">Focal length in pixels.</param>
/// <param name="FocalLengthAssumed">No focal length was known: a 60° horizontal field of view was assumed.</param>
public sealed record PointCloudDepth(float[] Metres, double FocalLength, bool FocalLengthAssumed);

/// <summary>
/// How depth results are drawn and exported: the one policy the command line and the web app share (which colouring a
/// result gets, the 16-bit PNG's encoding, whether and how it becomes a point cloud, how its kind is labelled).
/// </summary>
public static class DepthExport
{
    /// <summary>
    /// The result in colour, near warm: by its <see cref="DepthResult.Coloring"/> (the family's choice for its kind).
    /// Over inverse depth: inverse-depth maps as they are, depth maps over 1/depth (DepthPro, ZoeDepth); linearly: over
    /// −depth (metric Depth Anything), or −1/value for an inverse-depth map.
    /// </summary>
    /// <param name="r">The result.</param>
    /// <param name="colormap">The colour map; its first colour is for the far end.</param>
    /// <returns>An RGB picture of the result's size.</returns>
    public static RgbImage Colorize(DepthResult r, Colormap colormap)
    {
        bool inverseValues = r.Kind == DepthKind.RelativeInverse;
        return r.Coloring switch
        {
            DepthColoring.Inverse => DepthRender.Colorize(r.Depth, r.Width, r.Height, colormap, inverse: !inverseValues),
            DepthColoring.Linear => DepthRender.Colorize(r.Depth.Select(d => inverseValues ? -1f / d : -d).ToArray(), r.Width, r.Height, colormap, inverse: false),
            _ => throw new ArgumentOutOfRangeException(nameof(r), r.Coloring, "not a colouring"),
        };
    }

    /// <summary>
    /// The 16-bit PNG's samples, row-major: for metric depth millimetres, rounded and clamped to 0..65535 (up to 65.535 m);
    /// else the map stretched from its minimum to its maximum over 0..65535. Non-finite values give 0.
    /// </summary>
    /// <param name="r">The result.</param>
    public static ushort[] Png16(DepthResult r) =>
        r.Kind == DepthKind.Metric ? DepthRender.MetricMillimetres16(r.Depth) : DepthRender.Relative16(r.Depth);

    /// <summary>"metric" or "relative", as the JSON outputs say.</summary>
    /// <param name="kind">The depth's kind.</param>
    public static string KindLabel(DepthKind kind) => kind == DepthKind.Metric ? "metric" : "relative";

    /// <summary>"metres" or "relative": the depth's units.</summary>
    /// <param name="kind">The depth's kind.</param>
    public static string UnitsLabel(DepthKind kind) => kind == DepthKind.Metric ? "metres" : "relative";

    /// <summary>
    /// Why the result cannot give a point cloud: metric depth needs a focal length; relative depth needs
    /// <paramref name="relativeScale"/> (metres per unit of depth, or metres × disparity for inverse depth).
    /// </summary>
    /// <param name="r">The result.</param>
    /// <param name="relativeScale">For relative depth, the user's scale; null when none is given.</param>
    public static PointCloudBlocker PointCloudBlocker(DepthResult r, double? relativeScale = null) =>
        r.Kind == DepthKind.Metric
            ? r.FocalLength is null ? Pipeline.PointCloudBlocker.NoFocalLength : Pipeline.PointCloudBlocker.None
            : relativeScale is null ? Pipeline.PointCloudBlocker.NoScale : Pipeline.PointCloudBlocker.None;

    /// <summary>
    /// The result as metres to lift into a point cloud: metric depth as it is through its focal length; relative depth
    /// scaled by <paramref name="relativeScale"/> (inverse depth inverted first), through its focal length or, without one,
    /// a 60° horizontal field of view.
    /// </summary>
    /// <param name="r">The result.</param>
    /// <param name="relativeScale">For relative depth, metres per unit of depth (or metres × disparity for inverse depth); ignored for metric depth.</param>
    /// <exception cref="InvalidOperationException">The result cannot give one (see <see cref="PointCloudBlocker"/>).</exception>
    public static PointCloudDepth PointCloud(DepthResult r, double? relativeScale = null)
    {
        var blocker = PointCloudBlocker(r, relativeScale);
        if (blocker != Pipeline.PointCloudBlocker.None) throw new InvalidOperationException($"no point cloud from this result: {blocker}");
        if (r.Kind == DepthKind.Metric) return new PointCloudDepth(r.Depth, r.FocalLength!.Value, FocalLengthAssumed: false);
        double scale = relativeScale!.Value;
        var metres = r.Depth.Select(v => r.Kind == DepthKind.RelativeInverse ? (v > 0 ? (float)(scale / v) : float.NaN) : (float)(scale * v)).ToArray();
        return new PointCloudDepth(metres, r.FocalLength ?? 0.5 * r.Width / Math.Tan(Math.PI / 6), FocalLengthAssumed: r.FocalLength is null);
    }
}
