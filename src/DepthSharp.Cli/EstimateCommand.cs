using System.CommandLine;
using DepthSharp.Analysis;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using DepthSharp.Tensors.Kernels;
using Spectre.Console;

namespace DepthSharp.Cli;

internal static class EstimateCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG pictures, folders (walked recursively, mirrored into --output) or globs", Arity = ArgumentArity.OneOrMore };
        var focalLength = new Option<double?>("--focal-length") { Description = "The camera's focal length in pixels (DepthPro scales its depth by it; every model's JSON and point cloud use it)" };
        var plyScale = new Option<double?>("--ply-scale") { Description = "For relative models: metres per unit of depth (inverse-depth models: metres × disparity) so that --format ply can write a point cloud" };
        focalLength.Validators.Add(r => { if (r.GetValue(focalLength) is double f && !(f > 0)) r.AddError("--focal-length must be positive"); });
        plyScale.Validators.Add(r => { if (r.GetValue(plyScale) is double v && !(v > 0)) r.AddError("--ply-scale must be positive"); });
        var skipExisting = new Option<bool>("--skip-existing") { Description = "Skip pictures whose <stem>.json (written last) is already there, to resume a large folder" };
        var model = HubCommands.ModelOption();
        var output = new Option<string>("--output") { Description = "Folder for <stem>.json and the --format files", DefaultValueFactory = _ => "." };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var noFov = new Option<bool>("--no-fov") { Description = "Do not run the field-of-view head" };
        var noExif = new Option<bool>("--no-exif-focal") { Description = "Use the model's field of view even when EXIF gives a focal length" };
        var noOrient = new Option<bool>("--no-exif-orientation") { Description = "Keep pictures as stored instead of turning them upright" };
        var formats = new Option<string[]>("--format")
        {
            Description = "Outputs besides <stem>.json: npy, pfm, png16 (millimetres when metric), gray8 (the pipeline's picture), color, side-by-side, ply (metric models: coloured point cloud in metres)",
            DefaultValueFactory = _ => ["npy", "color"],
            AllowMultipleArgumentsPerToken = true,
        };
        var colormap = new Option<Colormap>("--colormap") { Description = "Colours for color and side-by-side (turbo over inverse depth by default)", DefaultValueFactory = _ => Colormap.Turbo };
        formats.Validators.Add(r =>
        {
            foreach (var f in r.GetValue(formats) ?? [])
                if (!OutputWriter.Formats.Contains(f)) r.AddError($"--format '{f}' is not one of {string.Join(", ", OutputWriter.Formats)}");
        });
        var flip = new Option<bool>("--flip") { Description = "Average with the pass on the horizontally flipped picture (ZoeDepth; twice the time)" };
        var int8 = new Option<bool>("--int8-weights") { Description = "Quantise the linear layers' weights to 8 bits as they load: less memory, slightly different depth" };
        var batchSize = new Option<int>("--batch-size") { Description = "Run this many pictures as one batch when their model inputs have the same size", DefaultValueFactory = _ => 1 };
        batchSize.Validators.Add(r => { if (r.GetValue(batchSize) < 1) r.AddError("--batch-size must be at least 1"); });
        var processor = ProcessorOption.Create();
        var analysis = new AnalysisOptions();
        var command = new Command("estimate", "Estimate depth for each picture (PNG or JPEG)") { images, model, output, threads, noFov, noExif, noOrient, formats, colormap, flip, batchSize, skipExisting, focalLength, plyScale, int8, processor };
        foreach (var option in analysis.All) command.Options.Add(option);
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            if (parse.GetValue(threads) is int t) KernelOptions.Threads = t;
            string outDir = parse.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var options = new DepthEstimatorOptions
            {
                UseFovModel = parse.GetValue(noFov) ? false : null,
                PreferExifFocalLength = !parse.GetValue(noExif),
                FlipAverage = parse.GetValue(flip),
                FocalLengthPixels = parse.GetValue(focalLength),
                Int8Weights = parse.GetValue(int8),
                ImageProcessor = parse.GetValue(processor),
                InputSize = analysis.ReadInputSize(parse),
            };
            var settings = analysis.Read(parse);
            var log = Console.Error;
            await log.WriteLineAsync($"loading {parse.GetValue(model)}");
            var estimator = DepthEstimator.Load(await HubCommands.ResolveAsync(parse.GetValue(model)!, cancellationToken), options);
            var decode = new ImageDecodeOptions { ApplyExifOrientation = !parse.GetValue(noOrient) };
            var writer = new OutputWriter(parse.GetValue(formats)!, parse.GetValue(colormap), parse.GetValue(plyScale));
            var pictures = InputExpander.Expand(parse.GetValue(images)!);
            if (pictures.Count == 0) throw new InputException("no PNG or JPEG pictures in the given inputs");
            if (parse.GetValue(skipExisting))
            {
                int before = pictures.Count;
                pictures = pictures.Where(p => !File.Exists(Path.Combine(outDir, p.RelativeStem + ".json"))).ToList();
                if (before != pictures.Count) await log.WriteLineAsync($"skipping {before - pictures.Count} picture(s) already done");
            }
            if (parse.GetValue(analysis.Sequence))
                return await SequenceRunner.Run(pictures, estimator, decode, writer, settings, outDir, log, cancellationToken);
            int failed = 0;
            foreach (var batch in pictures.Chunk(parse.GetValue(batchSize)))
            {
                // A picture that cannot be read is reported and left out; the rest go on.
                var readable = new List<(InputPicture Input, LoadedImage Image)>();
                foreach (var input in batch)
                {
                    try { readable.Add((input, ImageFile.Load(input.Path, decode))); }
                    catch (ImageFormatException e) { failed++; await log.WriteLineAsync($"error: {e.Message}"); }
                }
                if (readable.Count == 0) continue;
                var paths = readable.Select(r => r.Input.Path).ToArray();
                var loaded = readable.Select(r => r.Image).ToList();
                foreach (var group in Batches(paths, loaded, estimator, log, out var sizes))
                {
                    // The model input's size says what memory and time to expect (--input-size changes it).
                    string label = $"{string.Join(", ", group.Select(i => Path.GetFileName(paths[i])))} ({sizes[group[0]].Height}x{sizes[group[0]].Width} input)";
                    var results = await RunWithProgress(label, estimator.ForwardSteps,
                        progress => estimator.Estimate(group.Select(i => loaded[i]).ToList(), progress, cancellationToken));
                    for (int k = 0; k < group.Length; k++)
                    {
                        var input = readable[group[k]].Input;
                        string stem = Path.Combine(outDir, input.RelativeStem);
                        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(stem))!);
                        DepthResult result;
                        Dictionary<string, object?> extra;
                        try { (result, extra) = settings.Apply(results[k]); }
                        catch (DepthAnalysisException e) { failed++; await log.WriteLineAsync($"error: {input.Path}: {e.Message}"); continue; }
                        var written = writer.Write(stem, loaded[group[k]].Image, result, estimator.ModelType, log, extra);
                        await log.WriteLineAsync($"{input.Path}: {string.Join(", ", written)}" +
                            (result.FocalLength is double f ? $" (focal length {f:F1} px from {result.FocalLengthSource.ToString().ToLowerInvariant()})" : "") +
                            (result.Domain is string domain ? $" (domain head: {domain})" : ""));
                    }
                }
            }
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
    private static IReadOnlyList<int[]> Batches(string[] paths, List<LoadedImage> images, DepthEstimator estimator, TextWriter log,
        out IReadOnlyList<(int Height, int Width)> sizes)
    {
        var batches = estimator.Batches(images.Select(i => i.Image).ToList(), out var found);
        sizes = found;
        if (batches.Count > 1)
            log.WriteLine("not one batch: the model inputs differ in size (" +
                string.Join(", ", paths.Select((p, i) => $"{Path.GetFileName(p)} {found[i].Height}x{found[i].Width}")) + "); running them one at a time");
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
