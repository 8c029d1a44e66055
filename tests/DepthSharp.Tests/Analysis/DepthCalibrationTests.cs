using DepthSharp.Analysis;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Analysis;

/// <summary>Calibration from known depths on the fixture models' outputs: exact on synthetic ground truth, and every refusal.</summary>
public sealed class DepthCalibrationTests
{
    private static DepthResult Estimate(string model, string? picture = null)
    {
        string dir = Fixtures.Path("models", model);
        return DepthEstimator.Load(dir).Estimate(ImageFile.Load(picture ?? Path.Combine(dir, "image0.png")));
    }

    private static readonly Lazy<DepthResult> Relative = new(() => Estimate("depth_anything_tiny_relative"));
    private static readonly Lazy<DepthResult> Metric = new(() => Estimate("zoedepth_tiny_nk"));

    private static DepthResult Synthetic(float[] values, DepthKind kind) => new(values, values.Length, 1, kind, null, null, FocalLengthSource.None);

    private static (int X, int Y) ArgExtreme(DepthResult r, bool max)
    {
        int best = 0;
        for (int i = 1; i < r.Depth.Length; i++)
            if (max ? r.Depth[i] > r.Depth[best] : r.Depth[i] < r.Depth[best]) best = i;
        return (best % r.Width, best / r.Width);
    }

    private static void AssertRelativeClose(double expected, double actual, double tolerance, string where) =>
        Assert.True(Math.Abs(actual - expected) <= tolerance * Math.Abs(expected), $"{where}: {actual} against {expected}");

    [Fact]
    public void InverseScaleShiftIsExactOnSyntheticGroundTruth()
    {
        var r = Relative.Value;
        Assert.Equal(DepthKind.RelativeInverse, r.Kind);
        double min = r.Depth.Min(), max = r.Depth.Max();
        // Ground truth defined from the output: 1/depth = s·output + t, between 0.25 and 2.25 per metre (0.44 m to 4 m).
        double s = 2.0 / (max - min), t = 0.25 - s * min;
        double Truth(float o) => 1 / (s * o + t);
        var points = new[] { (10, 10), (75, 50), (140, 90) }.Select(p => new KnownDepth(p.Item1, p.Item2, Truth(r.Depth[p.Item2 * r.Width + p.Item1]))).ToList();

        var calibrated = DepthCalibrator.Calibrate(r, points);

        Assert.Equal(DepthKind.Metric, calibrated.Depth.Kind);
        Assert.Equal(CalibrationModel.InverseScaleShift, calibrated.Fit.Model);
        AssertRelativeClose(s, calibrated.Fit.Scale, 1e-9, "scale");
        AssertRelativeClose(t, calibrated.Fit.Shift, 1e-9, "shift");
        Assert.True(calibrated.Fit.Rms < 1e-9, $"rms {calibrated.Fit.Rms}");
        for (int i = 0; i < r.Depth.Length; i++)
            AssertRelativeClose(Truth(r.Depth[i]), calibrated.Depth.Depth[i], 1e-4, $"pixel {i}");
    }

    [Fact]
    public void MetricScaleIsExactOnSyntheticGroundTruth()
    {
        var r = Metric.Value;
        Assert.Equal(DepthKind.Metric, r.Kind);
        const double s = 2.75;
        var points = new[] { (5, 5), (r.Width / 2, r.Height / 2), (r.Width - 1, r.Height - 1) }.Select(p => new KnownDepth(p.Item1, p.Item2, s * r.Depth[p.Item2 * r.Width + p.Item1])).ToList();
        Assert.All(points, p => Assert.True(p.Metres > 0));

        var calibrated = DepthCalibrator.Calibrate(r, points);

        Assert.Equal(CalibrationModel.Scale, calibrated.Fit.Model);
        Assert.Equal(0, calibrated.Fit.Shift);
        AssertRelativeClose(s, calibrated.Fit.Scale, 1e-9, "scale");
        for (int i = 0; i < r.Depth.Length; i++)
            Assert.True(Math.Abs(calibrated.Depth.Depth[i] - s * r.Depth[i]) <= 1e-4 * Math.Abs(s * r.Depth[i]), $"pixel {i}");
    }

    [Fact]
    public void OnePointScalesMetricDepthAndReportsItsResidual()
    {
        var r = Estimate("depth_pro_tiny");
        Assert.Equal(DepthKind.Metric, r.Kind);
        var calibrated = DepthCalibrator.Calibrate(r, [new KnownDepth(3, 4, 7.5)]);
        Assert.Equal(7.5 / r.Depth[4 * r.Width + 3], calibrated.Fit.Scale, 12);
        Assert.Equal(7.5, calibrated.Depth.Depth[4 * r.Width + 3], 4);
        Assert.Single(calibrated.Fit.Points);
        Assert.True(Math.Abs(calibrated.Fit.Points[0].Residual) < 1e-9);
        Assert.Equal(r.FocalLength, calibrated.Depth.FocalLength);
    }

    [Fact]
    public void DepthUpToScaleGetsAScaleFit()
    {
        var r = Estimate("depth_pro_tiny_nofov_f16");
        Assert.Equal(DepthKind.Relative, r.Kind);
        var calibrated = DepthCalibrator.Calibrate(r, [new KnownDepth(0, 0, 2), new KnownDepth(20, 20, 3)]);
        Assert.Equal(CalibrationModel.Scale, calibrated.Fit.Model);
        Assert.Equal(DepthKind.Metric, calibrated.Depth.Kind);
        // Least squares in depth: Σ o·z / Σ o².
        double o1 = r.Depth[0], o2 = r.Depth[20 * r.Width + 20];
        Assert.Equal((o1 * 2 + o2 * 3) / (o1 * o1 + o2 * o2), calibrated.Fit.Scale, 9);
        Assert.Equal(Math.Sqrt((Math.Pow(calibrated.Fit.Scale * o1 - 2, 2) + Math.Pow(calibrated.Fit.Scale * o2 - 3, 2)) / 2), calibrated.Fit.Rms, 9);
    }

    [Theory]
    [InlineData(150, 10)]
    [InlineData(-1, 10)]
    [InlineData(10, 100)]
    [InlineData(10, -5)]
    public void PointOutsideThePictureIsRefused(int x, int y)
    {
        var e = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(Relative.Value, [new KnownDepth(1, 1, 2), new KnownDepth(x, y, 3)]));
        Assert.Equal(DepthAnalysisError.OutsidePicture, e.Kind);
        Assert.Contains("outside the 150x100 picture", e.Message);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-2.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void NonPositiveOrNonFiniteDistanceIsRefused(double metres)
    {
        foreach (var r in new[] { Relative.Value, Metric.Value })
        {
            var e = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(r, [new KnownDepth(1, 1, 2), new KnownDepth(5, 5, metres)]));
            Assert.Equal(DepthAnalysisError.InvalidDistance, e.Kind);
        }
    }

    [Fact]
    public void TooFewPointsAreRefused()
    {
        var relative = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(Relative.Value, [new KnownDepth(1, 1, 2)]));
        Assert.Equal(DepthAnalysisError.TooFewPoints, relative.Kind);
        Assert.Contains("at least two", relative.Message);
        var metric = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(Metric.Value, []));
        Assert.Equal(DepthAnalysisError.TooFewPoints, metric.Kind);
    }

    [Fact]
    public void TheSameOutputTwiceCannotDetermineScaleAndShift()
    {
        var e = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(Relative.Value, [new KnownDepth(7, 7, 2), new KnownDepth(7, 7, 3)]));
        Assert.Equal(DepthAnalysisError.Undetermined, e.Kind);
        Assert.Contains("same output", e.Message);
        // Two pixels with one value, on a synthetic map.
        var flat = Synthetic([0.5f, 0.5f, 0.9f], DepthKind.RelativeInverse);
        Assert.Equal(DepthAnalysisError.Undetermined,
            Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(flat, [new KnownDepth(0, 0, 1), new KnownDepth(1, 0, 2)])).Kind);
    }

    [Fact]
    public void ZeroOutputCannotDetermineAScale()
    {
        var e = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(Synthetic([0f, 1f], DepthKind.Metric), [new KnownDepth(0, 0, 3)]));
        Assert.Equal(DepthAnalysisError.Undetermined, e.Kind);
    }

    [Fact]
    public void AFitGivingNegativeDepthIsRefused()
    {
        var r = Relative.Value;
        // The nearest output (largest inverse depth) said to be far and the farthest near: the fitted line crosses zero.
        var (nx, ny) = ArgExtreme(r, max: true);
        var (fx, fy) = ArgExtreme(r, max: false);
        var e = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(r, [new KnownDepth(nx, ny, 10), new KnownDepth(fx, fy, 1), new KnownDepth(75, 50, 5)]));
        Assert.Equal(DepthAnalysisError.InvalidDepth, e.Kind);
        Assert.Contains("negative or non-finite depth", e.Message);
        // A metric map whose output is negative at the known point would need a negative scale.
        var negative = Assert.Throws<DepthAnalysisException>(() => DepthCalibrator.Calibrate(Synthetic([-1f, 2f], DepthKind.Metric), [new KnownDepth(0, 0, 3)]));
        Assert.Equal(DepthAnalysisError.InvalidDepth, negative.Kind);
    }

    [Fact]
    public void ConsistentPointsOnTheRealOutputGiveMetricDepthEverywhere()
    {
        var r = Relative.Value;
        var (nx, ny) = ArgExtreme(r, max: true);
        var (fx, fy) = ArgExtreme(r, max: false);
        var calibrated = DepthCalibrator.Calibrate(r, [new KnownDepth(nx, ny, 1), new KnownDepth(fx, fy, 6)]);
        // Two points, two parameters: the fit passes through both, and every pixel lies between their depths.
        Assert.Equal(1, calibrated.Depth.Depth[ny * r.Width + nx], 4);
        Assert.Equal(6, calibrated.Depth.Depth[fy * r.Width + fx], 3);
        Assert.All(calibrated.Depth.Depth, d => Assert.InRange(d, 1 - 1e-4, 6 + 1e-3));
        Assert.Equal(DepthColoring.Inverse, calibrated.Depth.Coloring);
    }
}
