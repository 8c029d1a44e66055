using System.CommandLine;
using System.Globalization;
using DepthSharp.Analysis;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli;

/// <summary>What `estimate` does to each result after the model: calibration from known depths, then region statistics.</summary>
/// <param name="KnownDepths">Points of known depth (empty: no calibration).</param>
/// <param name="Regions">Boxes to measure.</param>
internal sealed record AnalysisSettings(IReadOnlyList<KnownDepth> KnownDepths, IReadOnlyList<DepthRegion> Regions)
{
    /// <summary>
    /// The result calibrated when known depths are given, and the JSON fields that say so (calibrated, calibration,
    /// regions). Refusals are <see cref="DepthAnalysisException"/>s.
    /// </summary>
    public (DepthResult Result, Dictionary<string, object?> Json) Apply(DepthResult result)
    {
        var json = new Dictionary<string, object?> { ["calibrated"] = false };
        if (KnownDepths.Count > 0)
        {
            var calibrated = DepthCalibrator.Calibrate(result, KnownDepths);
            result = calibrated.Depth;
            json["calibrated"] = true;
            json["calibration"] = CalibrationJson(calibrated.Fit);
        }
        if (Regions.Count > 0)
            json["regions"] = Regions.Select(r => RegionJson(DepthRegions.Measure(result, r))).ToList();
        return (result, json);
    }

    public static Dictionary<string, object?> CalibrationJson(DepthCalibration fit) => new()
    {
        ["fit"] = fit.Model == CalibrationModel.Scale ? "depth = scale * output" : "1 / depth = scale * output + shift",
        ["scale"] = fit.Scale,
        ["shift"] = fit.Shift,
        ["rms_metres"] = fit.Rms,
        ["points"] = fit.Points.Select(p => new Dictionary<string, object?>
        {
            ["x"] = p.X, ["y"] = p.Y, ["metres"] = p.Metres, ["model_output"] = p.Output, ["calibrated"] = p.Calibrated, ["residual"] = p.Residual,
        }).ToList(),
    };

    public static Dictionary<string, object?> RegionJson(RegionStatistics s) => new()
    {
        ["x"] = s.Region.X, ["y"] = s.Region.Y, ["width"] = s.Region.Width, ["height"] = s.Region.Height, ["pixels"] = s.Pixels,
        ["median"] = s.Median, ["min"] = s.Min, ["mean"] = s.Mean, ["p10"] = s.P10, ["p90"] = s.P90,
    };
}

/// <summary>
/// estimate's options for calibration (--known-depth, --known-depths), regions (--region), the model's input size
/// (--input-size) and sequences (--sequence), kept apart from the command's other options.
/// </summary>
internal sealed class AnalysisOptions
{
    public Option<string[]> KnownDepthOption { get; } = new("--known-depth")
    {
        Description = "X,Y=METRES: the true depth at pixel (X, Y); repeatable. Metric models fit one scale (one point is enough); "
            + "relative inverse-depth models fit 1/depth = scale·output + shift (two or more). Outputs are then in metres",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> KnownDepthsFile { get; } = new("--known-depths") { Description = "A CSV file of x,y,metres rows (a header row and # comments allowed), as --known-depth" };

    public Option<string[]> RegionOption { get; } = new("--region") { Description = "X,Y,W,H: a box whose median, min, mean and 10th/90th percentile depth go into the JSON; repeatable" };

    public Option<string?> InputSize { get; } = new("--input-size")
    {
        Description = "N or HxW: the processor's resize target instead of preprocessor_config.json's size (Depth Anything, DPT, ZoeDepth), "
            + "with its keep_aspect_ratio and ensure_multiple_of rules; larger gives finer detail at more memory and time. DepthPro refuses it",
    };

    public Option<bool> Sequence { get; } = new("--sequence")
    {
        Description = "The pictures are frames of one sequence in name order: relative depth is aligned frame to frame (robust scale and shift) "
            + "and every frame is coloured over one range, so the depth does not flicker",
    };

    public AnalysisOptions()
    {
        KnownDepthOption.Validators.Add(r =>
        {
            foreach (var v in r.GetValue(KnownDepthOption) ?? [])
                if (KnownDepth.Parse(v, out string? error) is null) r.AddError($"--known-depth '{v}': {error}");
        });
        RegionOption.Validators.Add(r =>
        {
            foreach (var v in r.GetValue(RegionOption) ?? [])
                if (DepthRegion.Parse(v, out string? error) is null) r.AddError($"--region '{v}': {error}");
        });
        InputSize.Validators.Add(r =>
        {
            if (r.GetValue(InputSize) is string v && ParseInputSize(v) is null) r.AddError($"--input-size '{v}': expected N or HxW with positive whole numbers");
        });
    }

    public IEnumerable<Option> All => [KnownDepthOption, KnownDepthsFile, RegionOption, InputSize, Sequence];

    /// <summary>The settings from the command line, with the --known-depths file read.</summary>
    /// <exception cref="InputException">The known-depths file cannot be read or has a bad row.</exception>
    public AnalysisSettings Read(ParseResult parse)
    {
        var known = (parse.GetValue(KnownDepthOption) ?? []).Select(v => KnownDepth.Parse(v, out _)!).ToList();
        if (parse.GetValue(KnownDepthsFile) is string file) known.AddRange(ReadKnownDepths(file));
        var regions = (parse.GetValue(RegionOption) ?? []).Select(v => DepthRegion.Parse(v, out _)!).ToList();
        return new AnalysisSettings(known, regions);
    }

    public InputSize? ReadInputSize(ParseResult parse) => parse.GetValue(InputSize) is string v ? ParseInputSize(v) : null;

    /// <summary>The rows of a known-depths CSV file: x,y,metres.</summary>
    internal static List<KnownDepth> ReadKnownDepths(string file)
    {
        string[] lines;
        try { lines = File.ReadAllLines(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new InputException($"{file}: {e.Message}"); }
        var points = new List<KnownDepth>();
        bool firstRow = true;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var cells = line.Split(',');
            // The first row may name the columns.
            if (firstRow && !cells.Any(c => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _))) { firstRow = false; continue; }
            firstRow = false;
            if (cells.Length != 3 || !int.TryParse(cells[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int x)
                || !int.TryParse(cells[1].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int y))
                throw new InputException($"{file}: line {i + 1}: expected x,y,metres with whole-number pixel coordinates");
            points.Add(KnownDepth.FromText(x, y, cells[2], out string? error) ?? throw new InputException($"{file}: line {i + 1}: {error}"));
        }
        if (points.Count == 0) throw new InputException($"{file}: no x,y,metres rows");
        return points;
    }

    /// <summary>"N" (N×N) or "HxW", positive.</summary>
    internal static InputSize? ParseInputSize(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length is not (1 or 2)) return null;
        var n = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out n[i]) || n[i] <= 0) return null;
        return new InputSize(n[0], n[^1]);
    }
}
