using System.CommandLine;
using DepthSharp.Cli.Batch;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using Spectre.Console;

namespace DepthSharp.Cli;

internal static class EstimateCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG pictures, folders (walked recursively, mirrored into --output) or globs", Arity = ArgumentArity.OneOrMore };
        var skipExisting = new Option<bool>("--skip-existing") { Description = "Skip pictures whose <stem>.json (written last) is already there, to resume a large folder" };
        var output = new Option<string>("--output") { Description = "Folder for <stem>.json and the --format files", DefaultValueFactory = _ => "." };
        var batchSize = new Option<int>("--batch-size") { Description = "Run this many pictures as one batch when their model inputs have the same size", DefaultValueFactory = _ => 1 };
        batchSize.Validators.Add(r => { if (r.GetValue(batchSize) < 1) r.AddError("--batch-size must be at least 1"); });
        var command = new Command("estimate", "Estimate depth for each picture (PNG or JPEG)") { images, output, batchSize, skipExisting };
        var picture = new PictureOptions();
        picture.AddTo(command);
        var sharding = new ShardOptions();
        sharding.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            string outDir = parse.GetValue(output)!;
            var shard = sharding.Resolve(parse);
            Directory.CreateDirectory(outDir);
            var log = Console.Error;
            var estimator = await picture.LoadEstimatorAsync(parse, log, cancellationToken);
            var decode = picture.Decode(parse);
            var writer = picture.Writer(parse);
            var pictures = InputExpander.Expand(parse.GetValue(images)!);
            if (pictures.Count == 0) throw new InputException("no PNG or JPEG pictures in the given inputs");
            if (shard.Count > 1)
            {
                int all = pictures.Count;
                pictures = pictures.Where(p => shard.Owns(p.RelativePath)).ToList();
                await log.WriteLineAsync($"shard {shard.Index} of {shard.Count}: {pictures.Count} of {all} picture(s)");
            }
            if (parse.GetValue(skipExisting))
            {
                int before = pictures.Count;
                pictures = pictures.Where(p => !File.Exists(Path.Combine(outDir, p.RelativeStem + ".json"))).ToList();
                if (before != pictures.Count) await log.WriteLineAsync($"skipping {before - pictures.Count} picture(s) already done");
            }
            // Outputs already made from the same input bytes, model and options are left as they are.
            using var store = new OutputStore(outDir, shard.DoneLogName, writer, Recipe.FromCommandLine(parse, command, picture.Model(parse)));
            var pictureStep = new PictureProcessor(estimator, decode, store, log);
            int failed = 0, upToDate = 0;
            foreach (var batch in pictures.Chunk(parse.GetValue(batchSize)))
            {
                // A picture that cannot be read is reported and left out; the rest go on.
                var readable = new List<PreparedPicture>();
                foreach (var input in batch)
                {
                    var prepared = pictureStep.Prepare(input);
                    switch (prepared.Outcome?.Status)
                    {
                        case null: readable.Add(prepared); break;
                        case PictureStatus.UpToDate: upToDate++; break;
                        default: failed++; await log.WriteLineAsync($"error: {prepared.Outcome.Error}"); break;
                    }
                }
                if (readable.Count == 0) continue;
                var paths = readable.Select(r => r.Plan.Input.Path).ToArray();
                var loaded = readable.Select(r => r.Image!).ToList();
                foreach (var group in Batches(paths, loaded, estimator, log))
                {
                    var results = await RunWithProgress(string.Join(", ", group.Select(i => Path.GetFileName(paths[i]))), estimator.ForwardSteps,
                        progress => estimator.Estimate(group.Select(i => loaded[i]).ToList(), progress, cancellationToken));
                    for (int k = 0; k < group.Length; k++)
                    {
                        var result = results[k];
                        var outcome = pictureStep.Commit(readable[group[k]], result);
                        await log.WriteLineAsync($"{outcome.Input.Path}: {string.Join(", ", outcome.Outputs)}" +
                            (result.FocalLength is double f ? $" (focal length {f:F1} px from {result.FocalLengthSource.ToString().ToLowerInvariant()})" : "") +
                            (result.Domain is string domain ? $" (domain head: {domain})" : ""));
                    }
                }
            }
            if (upToDate > 0) await log.WriteLineAsync($"{upToDate} picture(s) already up to date");
            if (failed > 0)
            {
                await log.WriteLineAsync($"{failed} of {pictures.Count} picture(s) failed");
                return CliErrors.SomeFailed;
            }
            return 0;
        }));
        return command;
    }

    /// <summary>The estimator's batches for the chunk, saying why when it is not one.</summary>
    private static IReadOnlyList<int[]> Batches(string[] paths, List<LoadedImage> images, DepthEstimator estimator, TextWriter log)
    {
        var batches = estimator.Batches(images.Select(i => i.Image).ToList(), out var sizes);
        if (batches.Count > 1)
            log.WriteLine("not one batch: the model inputs differ in size (" +
                string.Join(", ", paths.Select((p, i) => $"{Path.GetFileName(p)} {sizes[i].Height}x{sizes[i].Width}")) + "); running them one at a time");
        return batches;
    }

    /// <summary>Runs a forward pass with a Spectre progress bar on a terminal, plain stage lines otherwise.</summary>
    internal static async Task<T> RunWithProgress<T>(string label, int totalSteps, Func<IProgress<ModelProgress>, T> work)
    {
        if (!Console.IsErrorRedirected)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            return await console.Progress().AutoClear(true).StartAsync(async ctx =>
            {
                var task = ctx.AddTask(label, maxValue: totalSteps);
                var progress = new SyncProgress(p => { task.Value = p.Step; task.Description = $"{label}: {p.Stage}"; });
                return await Task.Run(() => work(progress));
            });
        }
        string? lastStage = null;
        return await Task.Run(() => work(new SyncProgress(p =>
        {
            if (p.Stage != lastStage) Console.Error.WriteLine($"{label}: {p.Stage}");
            lastStage = p.Stage;
        })));
    }

    /// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; would post to a context that may not run).</summary>
    private sealed class SyncProgress(Action<ModelProgress> report) : IProgress<ModelProgress>
    {
        public void Report(ModelProgress value) => report(value);
    }
}
