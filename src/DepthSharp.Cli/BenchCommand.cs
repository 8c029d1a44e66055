using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Cli;

internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder; only its config.json (and preprocessor_config.json for the input size) are read", Required = true };
        var random = new Option<bool>("--random-weights") { Description = "Build the architecture with random weights instead of loading a checkpoint" };
        var runs = new Option<int>("--runs") { Description = "Timed forward passes after one warm-up", DefaultValueFactory = _ => 3 };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var size = new Option<int?>("--size") { Description = "Square input size (default: the processor's size)" };
        var command = new Command("bench", "Time the forward pass; prints one JSON line") { model, random, runs, threads, size };
        command.SetAction((parse, cancel) => CliErrors.Run(() =>
        {
            if (parse.GetValue(threads) is int t) KernelOptions.Threads = t;
            string dir = parse.GetValue(model)!;
            int n = parse.GetValue(runs);
            if (n < 1) throw new ArgumentException("--runs must be at least 1");
            var config = ConfigLoader.LoadDepthPro(Path.Combine(dir, "config.json"));
            int side = parse.GetValue(size) ?? InputSize(dir);

            var loadClock = Stopwatch.StartNew();
            DepthProForDepthEstimation net;
            if (parse.GetValue(random))
                net = new DepthProForDepthEstimation(new Weights(new RandomWeights(seed: 0)), config);
            else
            {
                using var checkpoint = Checkpoint.OpenDirectory(dir);
                var source = new CheckpointWeights(checkpoint);
                net = new DepthProForDepthEstimation(new Weights(source), config);
                source.Finish(DepthProForDepthEstimation.IgnoredUnusedPrefixes);
            }
            double loadSeconds = loadClock.Elapsed.TotalSeconds;

            var input = Tensor.Empty(1, 3, side, side);
            var rng = new Random(1);
            for (int i = 0; i < input.Data.Length; i++) input.Data[i] = (float)(rng.NextDouble() * 2 - 1);

            var times = new List<double>();
            for (int r = 0; r <= n; r++)
            {
                var clock = Stopwatch.StartNew();
                net.Forward(input, cancel: cancel);
                if (r > 0) times.Add(clock.Elapsed.TotalSeconds);
                Console.Error.WriteLine($"{(r == 0 ? "warm-up" : $"run {r}")}: {clock.Elapsed.TotalSeconds:F2} s");
            }
            times.Sort();
            double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
            var line = new Dictionary<string, object?>
            {
                ["model_type"] = config.ModelType,
                ["median_seconds"] = Math.Round(median, 3),
                ["runs"] = n,
                ["times_seconds"] = times.Select(x => Math.Round(x, 3)).ToArray(),
                ["input"] = new[] { side, side },
                ["threads"] = KernelOptions.Threads,
                ["fov_model"] = net.UseFovModel,
                ["random_weights"] = parse.GetValue(random),
                ["load_seconds"] = Math.Round(loadSeconds, 3),
                ["peak_memory_bytes"] = PeakMemoryBytes(),
                ["kernels"] = KernelOptions.ForceReference ? "reference" : "fast",
            };
            Console.WriteLine(JsonSerializer.Serialize(line, CliJson.Default.DictionaryStringObject).ReplaceLineEndings(" "));
            return Task.FromResult(0);
        }));
        return command;
    }

    private static int InputSize(string dir)
    {
        string path = Path.Combine(dir, "preprocessor_config.json");
        if (!File.Exists(path)) return 1536;
        return IImageProcessor.Load(path) is DepthProImageProcessor p ? p.Height : 1536;
    }

    /// <summary>The process's peak resident set (VmHWM on Linux), else the runtime's peak working set.</summary>
    private static long PeakMemoryBytes()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        return Process.GetCurrentProcess().PeakWorkingSet64;
    }
}
