using DepthSharp.Analysis;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli;

/// <summary>
/// `estimate --sequence`: the pictures as frames in name order, relative depth aligned frame to frame
/// (<see cref="SequenceAligner"/>), every frame coloured over the whole sequence's range. The frames' depth maps are
/// kept, with their decoded pictures (each frame is decoded once), until the last one is estimated (the range needs them all),
/// then every frame's files are written.
/// </summary>
internal static class SequenceRunner
{
    public static async Task<int> Run(List<InputPicture> frames, DepthEstimator estimator, ImageDecodeOptions decode, OutputWriter writer,
        AnalysisSettings settings, string outDir, TextWriter log, CancellationToken cancellationToken)
    {
        // Name order, whatever folders the frames came from.
        frames = frames.OrderBy(f => f.RelativeStem, StringComparer.Ordinal).ToList();
        var aligner = new SequenceAligner();
        var done = new List<(InputPicture Input, RgbImage Photo, DepthResult Depth, FrameFit? Fit)>();
        foreach (var input in frames)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // A sequence with a frame missing would align across the gap: an unreadable frame stops it.
            var picture = ImageFile.Load(input.Path, decode);
            var (h, w) = estimator.InputSize(picture.Image);
            var result = await EstimateCommand.RunWithProgress($"{Path.GetFileName(input.Path)} ({h}x{w} input, frame {done.Count + 1} of {frames.Count})",
                estimator.ForwardSteps, progress => estimator.Estimate(picture, progress, cancellationToken));
            var (aligned, fit) = aligner.Add(result);
            done.Add((input, picture.Image, aligned, fit));
        }
        // Calibration and regions per frame, then one colour range over every frame as it will be drawn.
        var applied = done.Select(d => settings.Apply(d.Depth)).ToList();
        var range = applied.Select(a => DepthExport.ColourRange(a.Result)).Aggregate((a, b) => a.Join(b));
        for (int i = 0; i < done.Count; i++)
        {
            var (input, photo, _, fit) = done[i];
            string stem = Path.Combine(outDir, input.RelativeStem);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stem))!);
            var (result, extra) = applied[i];
            extra["sequence"] = new Dictionary<string, object?>
            {
                ["frame"] = i,
                ["frames"] = done.Count,
                ["aligned"] = fit is not null,
                ["align_scale"] = fit?.Scale,
                ["align_shift"] = fit?.Shift,
                ["colour_range"] = new[] { range.Min, range.Max },
            };
            var written = writer.Write(stem, photo, result, estimator.ModelType, log, extraJson: extra, colourRange: range);
            await log.WriteLineAsync($"{input.Path}: {string.Join(", ", written)}" + (fit is null ? "" : $" (aligned: scale {fit.Scale:G4}, shift {fit.Shift:G4})"));
        }
        return 0;
    }
}
