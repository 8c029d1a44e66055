using System.Globalization;
using DepthSharp.Pipeline;

namespace DepthSharp.Analysis;

/// <summary>A true distance the user knows: the depth in metres at pixel (<paramref name="X"/>, <paramref name="Y"/>) of the picture.</summary>
/// <param name="X">Column, 0 at the left.</param>
/// <param name="Y">Row, 0 at the top.</param>
/// <param name="Metres">The camera-axis depth there, in metres.</param>
public sealed record KnownDepth(int X, int Y, double Metres)
{
    /// <summary>"X,Y=METRES" (invariant culture), as the command line and the HTTP API take it; null with the reason when it is not one.</summary>
    public static KnownDepth? Parse(string text, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        error = "expected X,Y=METRES";
        var halves = text.Split('=');
        if (halves.Length != 2) return null;
        var xy = halves[0].Split(',');
        if (xy.Length != 2 || !int.TryParse(xy[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)
            || !int.TryParse(xy[1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int y)) return null;
        return FromText(x, y, halves[1], out error);
    }

    /// <summary>The point with its distance parsed from <paramref name="metres"/>; null with the reason when it is not a positive, finite number.</summary>
    public static KnownDepth? FromText(int x, int y, string metres, out string? error)
    {
        ArgumentNullException.ThrowIfNull(metres);
        error = null;
        string text = metres.Trim();
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)) { error = $"'{text}' is not a number of metres"; return null; }
        if (!double.IsFinite(value) || value <= 0) { error = $"{text} m is not a positive distance"; return null; }
        return new KnownDepth(x, y, value);
    }
}

/// <summary>Which fit turned the model's output into metres.</summary>
public enum CalibrationModel
{
    /// <summary>depth = scale · output, least squares in depth (metric models, and depth known up to scale).</summary>
    Scale,

    /// <summary>
    /// 1/depth = scale · output + shift, least squares in inverse depth: the alignment used to evaluate MiDaS-style models,
    /// whose output is disparity-like (relative inverse depth).
    /// </summary>
    InverseScaleShift,
}

/// <summary>One known point after the fit.</summary>
/// <param name="X">Column.</param>
/// <param name="Y">Row.</param>
/// <param name="Metres">The known depth.</param>
/// <param name="Output">The model's output at the pixel.</param>
/// <param name="Calibrated">The calibrated depth at the pixel, in metres.</param>
public sealed record CalibrationPoint(int X, int Y, double Metres, double Output, double Calibrated)
{
    /// <summary>Calibrated minus known depth, in metres.</summary>
    public double Residual => Calibrated - Metres;
}

/// <summary>The fit: its model and parameters, each point's residual and their root mean square (metres).</summary>
/// <param name="Model">Which fit.</param>
/// <param name="Scale">Its scale.</param>
/// <param name="Shift">Its shift (0 for <see cref="CalibrationModel.Scale"/>).</param>
/// <param name="Points">The known points with their residuals.</param>
/// <param name="Rms">Root mean square of the residuals, in metres.</param>
public sealed record DepthCalibration(CalibrationModel Model, double Scale, double Shift, IReadOnlyList<CalibrationPoint> Points, double Rms);

/// <summary>A calibrated result: metric depth in metres, and the fit that made it.</summary>
/// <param name="Depth">The depth in metres (<see cref="DepthKind.Metric"/>), with the original's camera estimate.</param>
/// <param name="Fit">The fit.</param>
public sealed record CalibratedDepth(DepthResult Depth, DepthCalibration Fit);

/// <summary>Turns a model's depth into metres from a few pixels whose true depth is known.</summary>
public static class DepthCalibrator
{
    /// <summary>
    /// Fits <paramref name="result"/> to <paramref name="points"/> and applies the fit to every pixel. Metric depth and
    /// depth up to scale get one scale (one point is enough); relative inverse depth gets scale and shift in inverse
    /// depth (two points or more). The sums run in double precision.
    /// </summary>
    /// <exception cref="DepthAnalysisException">
    /// A point outside the picture or with a non-positive or non-finite distance, too few points, points that cannot
    /// determine the fit, or a fit that gives a negative or non-finite depth somewhere.
    /// </exception>
    public static CalibratedDepth Calibrate(DepthResult result, IReadOnlyList<KnownDepth> points)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(points);
        var model = result.Kind == DepthKind.RelativeInverse ? CalibrationModel.InverseScaleShift : CalibrationModel.Scale;
        int needed = model == CalibrationModel.Scale ? 1 : 2;
        if (points.Count < needed)
            throw new DepthAnalysisException(DepthAnalysisError.TooFewPoints, model == CalibrationModel.Scale
                ? "calibration needs at least one known depth"
                : $"{DepthExport.KindLabel(result.Kind)} inverse depth needs at least two known depths to fit scale and shift (got {points.Count})");
        var outputs = new double[points.Count];
        for (int i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (!double.IsFinite(p.Metres) || p.Metres <= 0)
                throw new DepthAnalysisException(DepthAnalysisError.InvalidDistance, $"known depth at ({p.X}, {p.Y}): {p.Metres} m is not a positive distance");
            if (p.X < 0 || p.Y < 0 || p.X >= result.Width || p.Y >= result.Height)
                throw new DepthAnalysisException(DepthAnalysisError.OutsidePicture, $"known depth at ({p.X}, {p.Y}) is outside the {result.Width}x{result.Height} picture");
            outputs[i] = result.Depth[p.Y * result.Width + p.X];
            if (!double.IsFinite(outputs[i]))
                throw new DepthAnalysisException(DepthAnalysisError.Undetermined, $"known depth at ({p.X}, {p.Y}): the model gives no finite value there");
        }
        var (scale, shift) = model == CalibrationModel.Scale ? FitScale(outputs, points) : FitInverseScaleShift(outputs, points);
        var metres = Apply(result, model, scale, shift);
        var fitted = points.Select((p, i) => new CalibrationPoint(p.X, p.Y, p.Metres, outputs[i], Calibrated(model, scale, shift, outputs[i]))).ToList();
        double rms = Math.Sqrt(fitted.Average(p => p.Residual * p.Residual));
        // Calibrated inverse depth is positive everywhere (checked), so it is drawn over its inverse like other metric maps.
        var depth = result with
        {
            Depth = metres,
            Kind = DepthKind.Metric,
            Coloring = model == CalibrationModel.InverseScaleShift ? DepthColoring.Inverse : result.Coloring,
        };
        return new CalibratedDepth(depth, new DepthCalibration(model, scale, shift, fitted, rms));
    }

    private static double Calibrated(CalibrationModel model, double scale, double shift, double output) =>
        model == CalibrationModel.Scale ? scale * output : 1 / (scale * output + shift);

    /// <summary>Least squares in depth: scale = Σ o·z / Σ o².</summary>
    private static (double Scale, double Shift) FitScale(double[] o, IReadOnlyList<KnownDepth> points)
    {
        double oz = 0, oo = 0;
        for (int i = 0; i < o.Length; i++) { oz += o[i] * points[i].Metres; oo += o[i] * o[i]; }
        if (!(oo > 0))
            throw new DepthAnalysisException(DepthAnalysisError.Undetermined, "the model's output is zero at every known point: no scale fits");
        double scale = oz / oo;
        if (!(scale > 0) || !double.IsFinite(scale))
            throw new DepthAnalysisException(DepthAnalysisError.InvalidDepth, $"the fitted scale {scale} would give negative depth");
        return (scale, 0);
    }

    /// <summary>Least squares in inverse depth: 1/z ≈ scale · o + shift, by the normal equations around the means.</summary>
    private static (double Scale, double Shift) FitInverseScaleShift(double[] o, IReadOnlyList<KnownDepth> points)
    {
        double meanO = o.Average(), meanY = points.Average(p => 1 / p.Metres);
        double varO = 0, cov = 0, magnitude = 0;
        for (int i = 0; i < o.Length; i++)
        {
            varO += (o[i] - meanO) * (o[i] - meanO);
            cov += (o[i] - meanO) * (1 / points[i].Metres - meanY);
            magnitude += o[i] * o[i];
        }
        // Outputs that agree to float32's precision cannot separate scale from shift.
        if (!(varO > 1e-12 * magnitude) || varO == 0)
            throw new DepthAnalysisException(DepthAnalysisError.Undetermined,
                $"the model gives the same output ({meanO:G6}) at every known point, so scale and shift cannot both be fitted: use points at different depths");
        double scale = cov / varO;
        return (scale, meanY - scale * meanO);
    }

    private static float[] Apply(DepthResult result, CalibrationModel model, double scale, double shift)
    {
        var depth = new float[result.Depth.Length];
        int bad = 0, firstBad = -1;
        for (int i = 0; i < depth.Length; i++)
        {
            double d = Calibrated(model, scale, shift, result.Depth[i]);
            // A scale fit keeps the model's own sign; an inverse fit must not reach zero or cross it anywhere.
            if (!double.IsFinite(d) || (model == CalibrationModel.InverseScaleShift && d <= 0))
            {
                if (bad++ == 0) firstBad = i;
                continue;
            }
            depth[i] = (float)d;
        }
        if (bad > 0)
            throw new DepthAnalysisException(DepthAnalysisError.InvalidDepth,
                $"the fit (scale {scale:G6}, shift {shift:G6}) gives a negative or non-finite depth at {bad} pixel(s), first at " +
                $"({firstBad % result.Width}, {firstBad / result.Width}): the known depths disagree with the model's ordering");
        return depth;
    }
}
