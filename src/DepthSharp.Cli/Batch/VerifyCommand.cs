using System.CommandLine;

namespace DepthSharp.Cli.Batch;

/// <summary>
/// <c>depthsharp verify INPUTS… --output DIR</c>: whether every picture of a (sharded) run is done. A picture is done
/// when its &lt;stem&gt;.json records the input's current SHA-256 and every file it lists exists; failed when it is not
/// done and the done logs' last line for it, with the same SHA-256, says it failed; missing otherwise (an input that
/// cannot be read now included).
/// Exit codes: 0 all done, 2 only permanent failures remain (bad pictures: retrying cannot help), 3 some pictures
/// missing (run the shards again), 1 the check itself could not run.
/// </summary>
internal static class VerifyCommand
{
    /// <summary>Exit code when pictures are missing: the shards should run again.</summary>
    public const int Incomplete = 3;

    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "The pictures, folders or globs given to estimate", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--output") { Description = "The output folder given to estimate", DefaultValueFactory = _ => "." };
        var command = new Command("verify", "List the pictures of a (sharded) estimate run that are missing or failed; exit 0 only when all are done") { inputs, output };
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            string outDir = parse.GetValue(output)!;
            var pictures = InputExpander.Expand(parse.GetValue(inputs)!);
            if (pictures.Count == 0) throw new InputException("no PNG or JPEG pictures in the given inputs");
            var report = Check(pictures, outDir, cancellationToken);
            foreach (var (picture, error) in report.Failed)
                await Console.Out.WriteLineAsync($"failed\t{picture.RelativePath}\t{error}");
            foreach (var picture in report.Missing)
                await Console.Out.WriteLineAsync($"missing\t{picture.RelativePath}");
            await Console.Error.WriteLineAsync($"{report.Done} of {pictures.Count} picture(s) done, {report.Missing.Count} missing, {report.Failed.Count} failed");
            return report.Missing.Count > 0 ? Incomplete : report.Failed.Count > 0 ? CliErrors.SomeFailed : 0;
        }));
        return command;
    }

    /// <summary>What <see cref="Check"/> found.</summary>
    public sealed record Report(int Done, List<InputPicture> Missing, List<(InputPicture Picture, string Error)> Failed);

    /// <summary>Sorts the pictures into done, missing and failed (see the class summary).</summary>
    public static Report Check(IReadOnlyList<InputPicture> pictures, string outputDir, CancellationToken cancellationToken)
    {
        // The last record per path wins: a resubmitted shard's lines come after the cancelled run's.
        var last = new Dictionary<string, DoneRecord>(StringComparer.Ordinal);
        foreach (var record in DoneLog.ReadAll(outputDir)) last[record.Path] = record;
        int done = 0;
        var missing = new List<InputPicture>();
        var failed = new List<(InputPicture, string)>();
        foreach (var picture in pictures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string sha256;
            try { sha256 = OutputStore.HashFile(picture.Path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone or unreadable now: a run cannot have done it as it is, and a later one may.
                missing.Add(picture);
                continue;
            }
            string relative = picture.RelativePath.Replace('\\', '/');
            if (OutputStore.IsUpToDate(Path.Combine(outputDir, picture.RelativeStem), sha256, recipe: null)) done++;
            else if (last.TryGetValue(relative, out var r) && r.Status == PictureStatus.Failed && r.Sha256 == sha256) failed.Add((picture, r.Error ?? "failed"));
            else missing.Add(picture);
        }
        return new Report(done, missing, failed);
    }
}
