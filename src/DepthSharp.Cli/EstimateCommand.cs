using System.CommandLine;
using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using DepthSharp.Tensors.Kernels;
using Spectre.Console;

namespace DepthSharp.Cli;

internal static class EstimateCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "PNG pictures", Arity = ArgumentArity.OneOrMore };
        var model = new Option<string>("--model") { Description = "Hugging Face model folder (config.json, preprocessor_config.json, *.safetensors)", Required = true };
        var output = new Option<string>("--output") { Description = "Folder for <stem>.npy, <stem>.json and <stem>.png", Required = true };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var noFov = new Option<bool>("--no-fov") { Description = "Do not run the field-of-view head" };
        var noExif = new Option<bool>("--no-exif-focal") { Description = "Use the model's field of view even when EXIF gives a focal length" };
        var command = new Command("estimate", "Estimate depth for each picture") { images, model, output, threads, noFov, noExif };
        command.SetAction((parse, cancel) => CliErrors.Run(async () =>
        {
            if (parse.GetValue(threads) is int t) KernelOptions.Threads = t;
            string outDir = parse.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var options = new DepthEstimatorOptions
            {
                UseFovModel = parse.GetValue(noFov) ? false : null,
                PreferExifFocalLength = !parse.GetValue(noExif),
            };
            var log = Console.Error;
            await log.WriteLineAsync($"loading {parse.GetValue(model)}");
            var estimator = DepthEstimator.Load(parse.GetValue(model)!, options);
            foreach (var path in parse.GetValue(images)!)
            {
                var image = ImageFile.Load(path);
                var result = await RunWithProgress($"{Path.GetFileName(path)}", estimator.ForwardSteps,
                    progress => estimator.Estimate(image, progress, cancel));
                string stem = Path.Combine(outDir, Path.GetFileNameWithoutExtension(path));
                WriteOutputs(stem, result, estimator.ModelType);
                await log.WriteLineAsync($"{path}: {stem}.npy, {stem}.json, {stem}.png" +
                    (result.FieldOfView is double fov ? $" (field of view {fov:F1}°, focal length {result.FocalLength:F1} px)" : ""));
            }
            return 0;
        }));
        return command;
    }

    private static void WriteOutputs(string stem, DepthResult r, string modelType)
    {
        Npy.Write(stem + ".npy", r.Depth, [r.Height, r.Width]);
        PngEncoder.WriteRgb8(stem + ".png", DepthRender.Colorize(r.Depth, r.Width, r.Height, Colormap.Turbo, inverse: true));
        var json = new Dictionary<string, object?>
        {
            ["model_type"] = modelType,
            ["width"] = r.Width,
            ["height"] = r.Height,
            ["depth_units"] = r.IsMetric ? "metres" : "relative",
            ["field_of_view"] = r.FieldOfView,
            ["focal_length"] = r.FocalLength,
            ["focal_length_source"] = r.FocalLengthSource.ToString().ToLowerInvariant(),
            ["depth_min"] = r.Depth.Min(),
            ["depth_max"] = r.Depth.Max(),
        };
        AtomicFile.WriteAllBytes(stem + ".json", JsonSerializer.SerializeToUtf8Bytes(json, CliJson.Default.DictionaryStringObject));
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
