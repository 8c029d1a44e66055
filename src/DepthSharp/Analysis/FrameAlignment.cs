using DepthSharp.Pipeline;

namespace DepthSharp.Analysis;

/// <summary>How one frame was mapped onto the one before it: aligned = scale · output + shift.</summary>
/// <param name="Scale">The scale.</param>
/// <param name="Shift">The shift.</param>
/// <param name="Samples">Grid pixels the final fit used (after trimming).</param>
public sealed record FrameFit(double Scale, double Shift, int Samples);

/// <summary>
/// Frame-to-frame alignment of relative depth in a sequence, so that each frame's unknown scale and shift follow the
/// previous frame's instead of jumping (flicker).
/// </summary>
public static class FrameAlignment
{
    /// <summary>Grid samples aimed at per fit: enough for two parameters, cheap for any frame size.</summary>
    public const int TargetSamples = 4096;

    /// <summary>Share of the samples with the largest residuals dropped before each refit (moving objects, occlusions).</summary>
    public const double TrimFraction = 0.2;

    /// <summary>Refits after the first least-squares fit, each on the samples the previous one fits best.</summary>
    public const int Refits = 3;

    /// <summary>
    /// Scale and shift that map <paramref name="frame"/>'s values onto <paramref name="reference"/>'s, on a regular grid of
    /// about <see cref="TargetSamples"/> pixels: started by matching the medians and median absolute deviations, then
    /// least squares <see cref="Refits"/> times, each without the <see cref="TrimFraction"/> of samples with the largest
    /// residuals under the fit before. Non-finite samples are left out; with fewer than
    /// two usable samples, a constant frame or a fit with a non-positive scale, the frame is left as it is (scale 1, shift 0).
    /// </summary>
    /// <exception cref="DepthAnalysisException">The maps differ in size.</exception>
    public static FrameFit Fit(DepthResult reference, DepthResult frame)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(frame);
        if (reference.Width != frame.Width || reference.Height != frame.Height)
            throw new DepthAnalysisException(DepthAnalysisError.MismatchedFrames,
                $"frames of a sequence must have one size: {frame.Width}x{frame.Height} follows {reference.Width}x{reference.Height}");
        int step = Math.Max(1, (int)Math.Sqrt((double)frame.Width * frame.Height / TargetSamples));
        var xs = new List<double>();
        var ys = new List<double>();
        for (int y = step / 2; y < frame.Height; y += step)
            for (int x = step / 2; x < frame.Width; x += step)
            {
                float f = frame.Depth[y * frame.Width + x], r = reference.Depth[y * frame.Width + x];
                if (float.IsFinite(f) && float.IsFinite(r)) { xs.Add(f); ys.Add(r); }
            }
        var keep = Enumerable.Range(0, xs.Count).ToArray();
        // The start must not be pulled by outliers either (a least-squares start can fit them, then keep them): medians
        // and median absolute deviations, robust up to half the samples.
        var fit = MedianMatch(xs, ys) ?? LeastSquares(xs, ys, keep);
        for (int round = 0; round < Refits && fit is not null; round++)
        {
            var (s, t) = fit.Value;
            int kept = Math.Max(2, (int)Math.Ceiling(xs.Count * (1 - TrimFraction)));
            keep = Enumerable.Range(0, xs.Count).OrderBy(i => Math.Abs(s * xs[i] + t - ys[i])).Take(kept).ToArray();
            fit = LeastSquares(xs, ys, keep) ?? fit;
        }
        // A fit that flips or flattens the frame is no alignment: the frame then stays as the model gave it.
        return fit is var (scale, shift) && scale > 0 ? new FrameFit(scale, shift, keep.Length) : new FrameFit(1, 0, 0);
    }

    /// <summary>The frame with <paramref name="fit"/> applied to every value.</summary>
    public static DepthResult Apply(DepthResult frame, FrameFit fit)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(fit);
        var aligned = new float[frame.Depth.Length];
        for (int i = 0; i < aligned.Length; i++) aligned[i] = (float)(fit.Scale * frame.Depth[i] + fit.Shift);
        return frame with { Depth = aligned };
    }

    /// <summary>s = MAD(y)/MAD(x), t = median(y) − s·median(x); null when x's deviation is zero.</summary>
    private static (double Scale, double Shift)? MedianMatch(List<double> xs, List<double> ys)
    {
        if (xs.Count < 2) return null;
        double mx = Median(xs), my = Median(ys);
        double dx = Median(xs.Select(x => Math.Abs(x - mx)).ToList()), dy = Median(ys.Select(y => Math.Abs(y - my)).ToList());
        if (!(dx > 0)) return null;
        return (dy / dx, my - dy / dx * mx);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    /// <summary>y ≈ s·x + t over the chosen samples; null when they cannot determine it.</summary>
    private static (double Scale, double Shift)? LeastSquares(List<double> xs, List<double> ys, int[] keep)
    {
        if (keep.Length < 2) return null;
        double mx = keep.Average(i => xs[i]), my = keep.Average(i => ys[i]), vxx = 0, vxy = 0;
        foreach (int i in keep) { vxx += (xs[i] - mx) * (xs[i] - mx); vxy += (xs[i] - mx) * (ys[i] - my); }
        if (!(vxx > 0)) return null;
        double s = vxy / vxx;
        return (s, my - s * mx);
    }
}

/// <summary>
/// A sequence's frames in order, each relative frame aligned to the one before it as aligned (so all follow the first
/// frame's scale and shift); metric frames are kept as they are. To draw the frames without flicker, colour them all over
/// one range: <see cref="DepthExport.ColourRange"/> of each, joined, given to <see cref="DepthExport.Colorize"/>.
/// </summary>
public sealed class SequenceAligner
{
    private DepthResult? _previous;

    /// <summary>Frames added so far.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// The next frame, aligned to the previous one when its depth is relative (the first frame, and metric frames, need
    /// no fit: their fit is null).
    /// </summary>
    /// <exception cref="DepthAnalysisException">The frame differs in size or kind from the one before it.</exception>
    public (DepthResult Aligned, FrameFit? Fit) Add(DepthResult frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (_previous is not null && _previous.Kind != frame.Kind)
            throw new DepthAnalysisException(DepthAnalysisError.MismatchedFrames,
                $"frame {Count} has {frame.Kind} depth after {_previous.Kind}: a sequence's frames must be of one kind");
        if (_previous is not null && (_previous.Width != frame.Width || _previous.Height != frame.Height))
            throw new DepthAnalysisException(DepthAnalysisError.MismatchedFrames,
                $"frames of a sequence must have one size: {frame.Width}x{frame.Height} follows {_previous.Width}x{_previous.Height}");
        FrameFit? fit = null;
        var aligned = frame;
        if (_previous is not null && frame.Kind != DepthKind.Metric)
        {
            fit = FrameAlignment.Fit(_previous, frame);
            aligned = FrameAlignment.Apply(frame, fit);
        }
        _previous = aligned;
        Count++;
        return (aligned, fit);
    }
}
