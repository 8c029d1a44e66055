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
/// A pinhole camera for a depth map, in pixels: x = (u − Cx)·z/Fx, y = (v − Cy)·z/Fy for pixel (column u, row v) with its
/// centre at integer coordinates (OpenCV's convention), exactly how the point clouds lift depth.
/// </summary>
/// <param name="Fx">Horizontal focal length.</param>
/// <param name="Fy">Vertical focal length (square pixels: Fx).</param>
/// <param name="Cx">Principal point's column: the picture's centre, (width − 1)/2.</param>
/// <param name="Cy">Principal point's row: (height − 1)/2.</param>
/// <param name="Source">Where the focal length came from: the user, EXIF or the model.</param>
public sealed record CameraIntrinsics(double Fx, double Fy, double Cx, double Cy, FocalLengthSource Source);

/// <summary>The span of coloured values (depth, inverse depth or −depth, as the colouring takes them) mapped onto a colour map.</summary>
/// <param name="Min">The value drawn with the far end of the map.</param>
/// <param name="Max">The value drawn with the near end.</param>
public readonly record struct ColourRange(float Min, float Max)
{
    /// <summary>The range covering both (an empty range, +∞..−∞, joins as nothing).</summary>
    public ColourRange Join(ColourRange other) => new(Math.Min(Min, other.Min), Math.Max(Max, other.Max));
}

/// <summary>
/// How depth results are drawn and exported: the one policy the command line and the web app share (which colouring a
/// result gets, the 16-bit PNG's encoding, whether and how it becomes a point cloud, how its kind is labelled).
/// </summary>
public static class DepthExport
{
    /// <summary>
    /// The result in colour, near warm: by its <see cref="DepthResult.Coloring"/> (the family's choice for its kind).
    /// Over inverse depth: inverse-depth maps as they are, depth maps over 1/depth (DepthPro, ZoeDepth); linearly: over
    /// −depth (metric Depth Anything), or −1/value for an inverse-depth map. The colours span the result's own range, or
    /// <paramref name="range"/> when given (one range for a sequence's frames: <see cref="ColourRange"/> of each, joined).
    /// </summary>
    /// <param name="r">The result.</param>
    /// <param name="colormap">The colour map; its first colour is for the far end.</param>
    /// <param name="range">The range the colours span, in the values they follow; null: the result's own.</param>
    /// <returns>An RGB picture of the result's size.</returns>
    public static RgbImage Colorize(DepthResult r, Colormap colormap, ColourRange? range = null)
    {
        var (values, inverse) = ColourValues(r);
        return DepthRender.Colorize(values, r.Width, r.Height, colormap, inverse, range is { } c ? (c.Min, c.Max) : null);
    }

    /// <summary>The range <see cref="Colorize"/> spreads the colours over for this result alone.</summary>
    /// <param name="r">The result.</param>
    public static ColourRange ColourRange(DepthResult r)
    {
        var (values, inverse) = ColourValues(r);
        var (min, max) = DepthRender.ColourRange(values, inverse);
        return new ColourRange(min, max);
    }

    /// <summary>The values the colours follow, and whether they are taken inverted first.</summary>
    private static (float[] Values, bool Inverse) ColourValues(DepthResult r)
    {
        bool inverseValues = r.Kind == DepthKind.RelativeInverse;
        return r.Coloring switch
        {
            DepthColoring.Inverse => (r.Depth, !inverseValues),
            DepthColoring.Linear => (r.Depth.Select(d => inverseValues ? -1f / d : -d).ToArray(), false),
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

    /// <summary>
    /// The camera in use for the result: its focal length (user &gt; EXIF 35 mm-equivalent &gt; the model's estimate) with the
    /// principal point at the picture's centre; null when no focal length is known.
    /// </summary>
    /// <param name="r">The result.</param>
    public static CameraIntrinsics? Intrinsics(DepthResult r) =>
        r.FocalLength is double f ? new CameraIntrinsics(f, f, (r.Width - 1) / 2.0, (r.Height - 1) / 2.0, r.FocalLengthSource) : null;

    /// <summary>What outputs say when <see cref="Intrinsics"/> is null.</summary>
    public const string NoIntrinsicsReason =
        "no focal length known: none given, no EXIF 35 mm-equivalent focal length in the picture, and the model estimates none";

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
