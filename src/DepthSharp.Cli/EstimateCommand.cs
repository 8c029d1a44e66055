using System.CommandLine;
using DepthSharp.Analysis;
using DepthSharp.Cli.Batch;
using DepthSharp.IO;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using DepthSharp.Tensors;
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
        var promptDepth = new Option<string[]>("--prompt-depth")
        {
            Description = "Prompt Depth Anything: each picture's low-resolution metric depth, in the pictures' order: a float32 or uint16 .npy [H, W] " +
                "holding the raw values (scaled by the model's prompt_scale_to_meter: millimetres for the released checkpoints) or a 16-bit PNG as phones store depth",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("estimate", "Estimate depth for each picture (PNG or JPEG)") { images, output, batchSize, skipExisting, promptDepth };
        var picture = new PictureOptions();
        picture.AddTo(command);
        var sharding = new ShardOptions();
        sharding.AddTo(command);
        var analysis = new AnalysisOptions();
        foreach (var option in analysis.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            string outDir = parse.GetValue(output)!;
            var shard = sharding.Resolve(parse);
            if (parse.GetValue(analysis.Sequence))
            {
                // Refused before the model loads: the sequence runner aligns every frame to the one before, from the pictures alone.
                if (shard.Count > 1)
                    throw new InputException($"--sequence cannot run as shard {shard.Index} of {shard.Count}: every frame is aligned to the one before, so one process needs them all");
                if (parse.GetValue(promptDepth) is { Length: > 0 })
                    throw new InputException("--sequence does not take --prompt-depth: sequence frames are estimated from the pictures alone");
            }
            Directory.CreateDirectory(outDir);
            var settings = analysis.Read(parse);
            var log = Console.Error;
            var estimator = await picture.LoadEstimatorAsync(parse, log, cancellationToken, analysis.ReadInputSize(parse));
            var decode = picture.Decode(parse);
            var writer = picture.Writer(parse);
            var pictures = InputExpander.Expand(parse.GetValue(images)!);
            if (pictures.Count == 0) throw new InputException("no PNG or JPEG pictures in the given inputs");
            var prompts = PromptFiles(parse.GetValue(promptDepth) ?? [], pictures, estimator);
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
            if (parse.GetValue(analysis.Sequence))
                return await SequenceRunner.Run(pictures, estimator, decode, writer, settings, outDir, log, cancellationToken);
            // Outputs already made from the same input bytes, model and options are left as they are.
            using var store = new OutputStore(outDir, shard.DoneLogName, writer, Recipe.FromCommandLine(parse, command, picture.Model(parse)));
            var pictureStep = new PictureProcessor(estimator, decode, store, log);
            int failed = 0, upToDate = 0;
            foreach (var batch in pictures.Chunk(parse.GetValue(batchSize)))
            {
                // A picture (or its prompt) that cannot be read is reported and left out; the rest go on.
                var readable = new List<PreparedPicture>();
                var readablePrompts = new List<Tensor?>();
                foreach (var input in batch)
                {
                    PreparedPicture prepared;
                    try { prepared = pictureStep.Prepare(input); }
                    catch (UnreadableInputException e)
                    {
                        // Failed for this run only: not in the done log as permanent, since a retry may read it.
                        failed++;
                        await log.WriteLineAsync($"error: {input.Path}: {e.Message}");
                        continue;
                    }
                    switch (prepared.Outcome?.Status)
                    {
                        case null:
                            try
                            {
                                readablePrompts.Add(prompts is null ? null : PromptDepthFile.Read(prompts[input]));
                                readable.Add(prepared);
                            }
                            catch (PromptDepthException e) { failed++; pictureStep.Fail(prepared, e.Message); await log.WriteLineAsync($"error: {e.Message}"); }
                            break;
                        case PictureStatus.UpToDate: upToDate++; break;
                        default: failed++; await log.WriteLineAsync($"error: {prepared.Outcome.Error}"); break;
                    }
                }
                if (readable.Count == 0) continue;
                var paths = readable.Select(r => r.Plan.Input.Path).ToArray();
                var loaded = readable.Select(r => r.Image!).ToList();
                foreach (var group in Batches(paths, loaded, readablePrompts, estimator, log, out var sizes))
                {
                    // The model input's size says what memory and time to expect (--input-size changes it).
                    Task<IReadOnlyList<DepthResult>> Estimate(int[] members) => RunWithProgress(
                        $"{string.Join(", ", members.Select(i => Path.GetFileName(paths[i])))} ({sizes[members[0]].Height}x{sizes[members[0]].Width} input)",
                        estimator.ForwardSteps,
                        progress => estimator.Estimate(members.Select(i => new DepthInput(loaded[i], readablePrompts[i])).ToList(), progress, cancellationToken));
                    // A prompt the model cannot use (constant, non-finite) fails its picture only.
                    async Task FailPrompt(int i, PromptDepthException e)
                    {
                        failed++;
                        pictureStep.Fail(readable[i], e.Message);
                        await log.WriteLineAsync($"error: {prompts![readable[i].Plan.Input]}: {e.Message}");
                    }
                    DepthResult?[] results;
                    try { results = [.. await Estimate(group)]; }
                    catch (PromptDepthException) when (group.Length > 1)
                    {
                        // The batched call fails as a whole: one at a time, the pictures with usable prompts go on.
                        await log.WriteLineAsync("not one batch: a prompt depth cannot be used; running the pictures one at a time");
                        results = new DepthResult?[group.Length];
                        for (int k = 0; k < group.Length; k++)
                        {
                            try { results[k] = (await Estimate([group[k]]))[0]; }
                            catch (PromptDepthException e) { await FailPrompt(group[k], e); }
                        }
                    }
                    catch (PromptDepthException e)
                    {
                        await FailPrompt(group[0], e);
                        continue;
                    }
                    for (int k = 0; k < group.Length; k++)
                    {
                        if (results[k] is not { } depth) continue;
                        var prepared = readable[group[k]];
                        DepthResult result;
                        Dictionary<string, object?> extra;
                        try { (result, extra) = settings.Apply(depth); }
                        catch (DepthAnalysisException e)
                        {
                            // A calibration or region the picture cannot give fails that picture only, permanently.
                            failed++;
                            pictureStep.Fail(prepared, e.Message);
                            await log.WriteLineAsync($"error: {prepared.Plan.Input.Path}: {e.Message}");
                            continue;
                        }
                        var outcome = pictureStep.Commit(prepared, result, extra);
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

    /// <summary>The estimator's batches for the chunk, saying why when it is not one; prompts of different sizes are not batched either.</summary>
    private static IReadOnlyList<int[]> Batches(string[] paths, List<LoadedImage> images, List<Tensor?> prompts, DepthEstimator estimator, TextWriter log,
        out IReadOnlyList<(int Height, int Width)> sizes)
    {
        var batches = estimator.Batches(images.Select(i => i.Image).ToList(), out var found);
        sizes = found;
        if (batches.Count > 1)
            log.WriteLine("not one batch: the model inputs differ in size (" +
                string.Join(", ", paths.Select((p, i) => $"{Path.GetFileName(p)} {found[i].Height}x{found[i].Width}")) + "); running them one at a time");
        else if (prompts.Count > 1 && prompts.Any(p => p is not null && !p.Shape.AsSpan().SequenceEqual(prompts[0]!.Shape)))
        {
            log.WriteLine("not one batch: the prompt depths differ in size; running them one at a time");
            return Enumerable.Range(0, images.Count).Select(i => new[] { i }).ToList();
        }
        return batches;
    }

    /// <summary>
    /// Each picture's --prompt-depth file, given in the pictures' order; null when none are given. The model's family decides
    /// whether prompts are needed (Prompt Depth Anything: yes) or refused (every other family).
    /// </summary>
    private static Dictionary<InputPicture, string>? PromptFiles(string[] files, List<InputPicture> pictures, DepthEstimator estimator)
    {
        var spec = estimator.Family.ExtraInput;
        if (files.Length == 0)
        {
            if (spec is { Required: true })
                throw new InputException($"{estimator.ModelType} models need a {spec.Name} with every picture: give --prompt-depth FILE " +
                    "(a float32 .npy [H, W] of raw values, or a 16-bit PNG) for each picture, in the pictures' order");
            return null;
        }
        if (spec is null)
            throw new InputException($"--prompt-depth: {estimator.ModelType} models take no prompt depth (it is Prompt Depth Anything's second input)");
        if (files.Length != pictures.Count)
            throw new InputException($"--prompt-depth: {files.Length} file(s) for {pictures.Count} picture(s); give one per picture, in the pictures' order");
        // By reference: a picture named twice is two inputs, each with its own prompt.
        var byPicture = new Dictionary<InputPicture, string>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < files.Length; i++) byPicture[pictures[i]] = files[i];
        return byPicture;
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
