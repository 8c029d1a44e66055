using System.Globalization;
using DepthSharp.Pipeline;

namespace DepthSharp.Analysis;

/// <summary>A box of the picture in pixels: columns X..X+Width-1, rows Y..Y+Height-1.</summary>
/// <param name="X">Left column.</param>
/// <param name="Y">Top row.</param>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
public sealed record DepthRegion(int X, int Y, int Width, int Height)
{
    /// <summary>"X,Y,W,H" in whole pixels with W and H positive, as the command line and the HTTP API take it; null with the reason otherwise.</summary>
    public static DepthRegion? Parse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = "expected X,Y,W,H in whole pixels";
        var cells = text.Split(',');
        if (cells.Length != 4) return null;
        var n = new int[4];
        for (int i = 0; i < 4; i++)
            if (!int.TryParse(cells[i].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out n[i])) return null;
        if (n[2] <= 0 || n[3] <= 0) { error = "width and height must be positive"; return null; }
        return new DepthRegion(n[0], n[1], n[2], n[3]);
    }
}

/// <summary>The depth in a region, in the result's units (metres when metric or calibrated).</summary>
/// <param name="Region">The box.</param>
/// <param name="Pixels">Pixels with a finite depth that the statistics cover.</param>
/// <param name="Median">50th percentile.</param>
/// <param name="Min">Smallest value.</param>
/// <param name="Mean">Mean.</param>
/// <param name="P10">10th percentile.</param>
/// <param name="P90">90th percentile.</param>
public sealed record RegionStatistics(DepthRegion Region, int Pixels, double Median, double Min, double Mean, double P10, double P90);

/// <summary>Distance in a region: median, minimum, mean and the 10th and 90th percentiles of its depth.</summary>
public static class DepthRegions
{
    /// <summary>
    /// The statistics of <paramref name="region"/>'s finite values. Percentiles interpolate linearly between the sorted
    /// values (position p·(n−1)), as numpy's percentile does by default.
    /// </summary>
    /// <exception cref="DepthAnalysisException">The region is empty, reaches outside the picture, or has no finite depth.</exception>
    public static RegionStatistics Measure(DepthResult result, DepthRegion region)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(region);
        if (region.Width <= 0 || region.Height <= 0)
            throw new DepthAnalysisException(DepthAnalysisError.EmptyRegion, $"region {Describe(region)} has no pixels");
        if (region.X < 0 || region.Y < 0 || (long)region.X + region.Width > result.Width || (long)region.Y + region.Height > result.Height)
            throw new DepthAnalysisException(DepthAnalysisError.OutsidePicture, $"region {Describe(region)} reaches outside the {result.Width}x{result.Height} picture");
        var values = new List<double>(region.Width * region.Height);
        for (int y = region.Y; y < region.Y + region.Height; y++)
            for (int x = region.X; x < region.X + region.Width; x++)
                if (result.Depth[y * result.Width + x] is var v && float.IsFinite(v)) values.Add(v);
        if (values.Count == 0)
            throw new DepthAnalysisException(DepthAnalysisError.EmptyRegion, $"region {Describe(region)} has no finite depth");
        values.Sort();
        return new RegionStatistics(region, values.Count, Percentile(values, 50), values[0], values.Average(), Percentile(values, 10), Percentile(values, 90));
    }

    /// <summary>numpy's default ("linear") percentile of sorted values.</summary>
    internal static double Percentile(List<double> sorted, double percent)
    {
        double position = percent / 100 * (sorted.Count - 1);
        int below = (int)Math.Floor(position);
        int above = Math.Min(below + 1, sorted.Count - 1);
        return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
    }

    private static string Describe(DepthRegion r) => $"{r.X},{r.Y},{r.Width},{r.Height}";
}
