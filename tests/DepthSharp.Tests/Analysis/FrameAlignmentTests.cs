using DepthSharp.Analysis;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Analysis;

/// <summary>Frame-to-frame alignment of relative depth and one colour range for a sequence.</summary>
public sealed class FrameAlignmentTests
{
    private static DepthResult Frame(float[] v, int w, DepthKind kind = DepthKind.RelativeInverse) =>
        new(v, w, v.Length / w, kind, null, null, FocalLengthSource.None) { Coloring = DepthColoring.Inverse };

    /// <summary>A smooth 200×120 map with values 1..3.</summary>
    private static float[] Scene()
    {
        var v = new float[200 * 120];
        for (int y = 0; y < 120; y++)
            for (int x = 0; x < 200; x++)
                v[y * 200 + x] = (float)(2 + Math.Sin(x * 0.05) * Math.Cos(y * 0.07));
        return v;
    }

    [Fact]
    public void RecoversScaleAndShift()
    {
        var reference = Scene();
        // The frame is the reference under another scale and shift: reference = 1.7·frame − 0.4.
        var frame = reference.Select(r => (r + 0.4f) / 1.7f).ToArray();
        var fit = FrameAlignment.Fit(Frame(reference, 200), Frame(frame, 200));
        Assert.Equal(1.7, fit.Scale, 4);
        Assert.Equal(-0.4, fit.Shift, 4);
        var aligned = FrameAlignment.Apply(Frame(frame, 200), fit);
        for (int i = 0; i < reference.Length; i++) Assert.Equal(reference[i], aligned.Depth[i], 3);
    }

    [Fact]
    public void OutliersAreTrimmed()
    {
        var reference = Scene();
        var frame = reference.Select(r => (r + 0.4f) / 1.7f).ToArray();
        // A tenth of the frame (a moving object) disagrees wildly.
        for (int y = 0; y < 120; y++)
            for (int x = 0; x < 20; x++)
                frame[y * 200 + x] = 50f;
        var fit = FrameAlignment.Fit(Frame(reference, 200), Frame(frame, 200));
        Assert.Equal(1.7, fit.Scale, 3);
        Assert.Equal(-0.4, fit.Shift, 3);
        // A 200×120 frame is sampled every 2nd pixel (100×60 = 6000 samples); the last fit keeps the best 80%.
        Assert.Equal(4800, fit.Samples);
        // Plain least squares over every sample is pulled far off by them.
        var all = Enumerable.Range(0, frame.Length).ToArray();
        double mx = all.Average(i => (double)frame[i]), my = all.Average(i => (double)reference[i]);
        double plain = all.Sum(i => (frame[i] - mx) * (reference[i] - my)) / all.Sum(i => (frame[i] - mx) * (frame[i] - mx));
        Assert.True(Math.Abs(plain - 1.7) > 0.5, $"plain least squares gave {plain}");
    }

    [Fact]
    public void SequenceAlignsRelativeFramesToTheFirstAndLeavesMetricOnes()
    {
        var scene = Scene();
        var aligner = new SequenceAligner();
        var (first, firstFit) = aligner.Add(Frame(scene, 200));
        Assert.Null(firstFit);
        Assert.Equal(scene, first.Depth);
        var (second, fit) = aligner.Add(Frame(scene.Select(v => v * 3 + 1).ToArray(), 200));
        Assert.NotNull(fit);
        for (int i = 0; i < scene.Length; i++) Assert.Equal(scene[i], second.Depth[i], 3);
        // Aligned to the aligned second frame, so to the first.
        var (third, _) = aligner.Add(Frame(scene.Select(v => v * 0.5f - 0.2f).ToArray(), 200));
        for (int i = 0; i < scene.Length; i++) Assert.Equal(scene[i], third.Depth[i], 3);

        var metric = new SequenceAligner();
        metric.Add(Frame(scene, 200, DepthKind.Metric));
        var (kept, none) = metric.Add(Frame(scene.Select(v => v * 2).ToArray(), 200, DepthKind.Metric));
        Assert.Null(none);
        Assert.Equal(scene.Select(v => v * 2).ToArray(), kept.Depth);
    }

    [Fact]
    public void MismatchedFramesAreRefused()
    {
        var aligner = new SequenceAligner();
        aligner.Add(Frame(Scene(), 200));
        Assert.Equal(DepthAnalysisError.MismatchedFrames, Assert.Throws<DepthAnalysisException>(() => aligner.Add(Frame(new float[100 * 120], 100))).Kind);
        Assert.Equal(DepthAnalysisError.MismatchedFrames, Assert.Throws<DepthAnalysisException>(() => aligner.Add(Frame(Scene(), 200, DepthKind.Metric))).Kind);
    }

    [Fact]
    public void OneColourRangeDrawsEqualValuesAlikeAcrossFrames()
    {
        // Two frames sharing the value 2 at pixel 0 but with different spans: alone, each colours it differently;
        // over the joined range, alike.
        var a = Frame([2f, 1f, 4f], 3, DepthKind.Metric) with { Coloring = DepthColoring.Linear };
        var b = Frame([2f, 1.5f, 2.5f], 3, DepthKind.Metric) with { Coloring = DepthColoring.Linear };
        var range = DepthExport.ColourRange(a).Join(DepthExport.ColourRange(b));
        Assert.Equal(new ColourRange(-4f, -1f), range);
        RgbImage Alone(DepthResult r) => DepthExport.Colorize(r, Colormap.Gray);
        RgbImage Joined(DepthResult r) => DepthExport.Colorize(r, Colormap.Gray, range);
        Assert.NotEqual(Alone(a).Pixels[0], Alone(b).Pixels[0]);
        Assert.Equal(Joined(a).Pixels[0], Joined(b).Pixels[0]);
        // The joined range is a's own, so a draws as it does alone.
        Assert.Equal(Alone(a).Pixels, Joined(a).Pixels);
    }
}
