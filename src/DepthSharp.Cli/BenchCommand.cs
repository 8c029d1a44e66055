using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DepthSharp.Models;
using DepthSharp.Pipeline;
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
        var weightDtype = new Option<string>("--weight-dtype")
        {
            Description = "The linear layers' weights: with --random-weights, as a checkpoint would store them (f32, f16, bf16); int8 quantises them to 8 bits at load (any checkpoint). Computation is float32 either way",
            DefaultValueFactory = _ => "f32",
        };
        weightDtype.AcceptOnlyFromAmong("f32", "f16", "bf16", "int8");
        var size = new Option<string?>("--size") { Description = "Input size, S or HxW (default: the processor's output for a square picture)" };
        var promptSize = new Option<string?>("--prompt-size")
        {
            Description = "Prompt Depth Anything: time the pass with a random prompt depth of this size, S or HxW (raw millimetres, as a phone stores them); without it the network runs unprompted",
        };
        runs.Validators.Add(r => { if (r.GetValue(runs) < 1) r.AddError("--runs must be at least 1"); });
        promptSize.Validators.Add(r => { if (r.GetValue(promptSize) is string s && AnalysisOptions.ParseInputSize(s) is null) r.AddError($"--prompt-size '{s}' is not S or HxW with positive numbers"); });
        size.Validators.Add(r => { if (r.GetValue(size) is string s && AnalysisOptions.ParseInputSize(s) is null) r.AddError($"--size '{s}' is not S or HxW with positive numbers"); });
        var command = new Command("bench", "Time the forward pass; prints one JSON line") { model, random, weightDtype, runs, threads, size, promptSize };
        command.SetAction((parse, cancellationToken) => CliErrors.Run(() =>
        {
            if (parse.GetValue(threads) is int t) KernelOptions.Threads = t;
            string dir = parse.GetValue(model)!;
            int n = parse.GetValue(runs);
            var requested = parse.GetValue(size) is string sz ? AnalysisOptions.ParseInputSize(sz) : null;
            var loadClock = Stopwatch.StartNew();
            HalfKind? half = parse.GetValue(weightDtype) switch { "f16" => HalfKind.F16, "bf16" => HalfKind.BF16, _ => null };
            var options = new DepthEstimatorOptions { Int8Weights = parse.GetValue(weightDtype) == "int8" };
            var estimator = parse.GetValue(random) ? DepthEstimator.LoadRandom(dir, options: options, halfWeights: half) : DepthEstimator.Load(dir, options);
            // Default: the processor's own output size for a square picture.
            var (height, width) = requested is (int rh, int rw) ? (rh, rw) : estimator.InputSize(new DepthSharp.Imaging.RgbImage(64, 64, new byte[64 * 64 * 3]));
            double loadSeconds = loadClock.Elapsed.TotalSeconds;

            var input = Tensor.Empty(1, 3, height, width);
            var rng = new Random(1);
            for (int i = 0; i < input.Data.Length; i++) input.Data[i] = (float)(rng.NextDouble() * 2 - 1);
            var promptShape = parse.GetValue(promptSize) is string ps ? AnalysisOptions.ParseInputSize(ps) : null;
            if (promptShape is not null && estimator.Family.ExtraInput is null)
                throw new InputException($"--prompt-size: {estimator.ModelType} models take no prompt depth");
            Tensor? prompt = null;
            if (promptShape is (int ph, int pw))
            {
                // Raw depths of 0.5 to 5 m in millimetres, as a phone's LiDAR map holds them.
                prompt = Tensor.Empty(ph, pw);
                for (int i = 0; i < prompt.Data.Length; i++) prompt.Data[i] = (float)(500 + rng.NextDouble() * 4500);
            }

            var times = new List<double>();
            var cpuTimes = new List<double>();
            var stageSeconds = new Dictionary<string, double>();
            var stagePeaks = new Dictionary<string, long>();
            var outputHashes = new List<string>();
            for (int r = 0; r <= n; r++)
            {
                var clock = Stopwatch.StartNew();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var stages = new StageTimer();
                var depth = prompt is null ? estimator.Forward(input, stages, cancellationToken) : estimator.Forward(input, [prompt], stages, cancellationToken);
                if (r > 0) times.Add(clock.Elapsed.TotalSeconds);
                // CPU time tells how much of a shared machine a run got: wall ≈ cpu / threads when no one else competes.
                if (r > 0) cpuTimes.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
                if (r == 0) stagePeaks = stages.PeakBytesAfter; // the peak is first reached in the warm-up
                if (r == n) stageSeconds = stages.Seconds;
                // The output's bits, after the clock: a fixed seed must give the same depth on every run and every invocation.
                outputHashes.Add(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
                    System.Runtime.InteropServices.MemoryMarshal.AsBytes(depth.Data.AsSpan()))));
                Console.Error.WriteLine($"{(r == 0 ? "warm-up" : $"run {r}")}: {(r == 0 ? clock.Elapsed.TotalSeconds : times[^1]):F2} s");
            }
            double median = Median(times);
            var line = new Dictionary<string, object?>
            {
                ["model_type"] = estimator.ModelType,
                ["median_seconds"] = Math.Round(median, 3),
                ["runs"] = n,
                ["times_seconds"] = times.Select(x => Math.Round(x, 3)).ToArray(),
                ["median_cpu_seconds"] = Math.Round(Median(cpuTimes), 3),
                ["input"] = new[] { height, width },
                ["prompt_depth"] = promptShape is (int h2, int w2) ? new[] { h2, w2 } : null,
                ["threads"] = KernelOptions.Threads,
                ["random_weights"] = parse.GetValue(random),
                ["weight_dtype"] = parse.GetValue(random) || options.Int8Weights ? parse.GetValue(weightDtype) : "as stored",
                ["load_seconds"] = Math.Round(loadSeconds, 3),
                ["peak_memory_bytes"] = PeakMemoryBytes(),
                ["last_run_stage_seconds"] = stageSeconds.ToDictionary(kv => kv.Key, kv => (object?)Math.Round(kv.Value, 2)),
                ["warmup_peak_memory_bytes_after_stage"] = stagePeaks.ToDictionary(kv => kv.Key, kv => (object?)kv.Value),
                ["kernels"] = KernelOptions.ForceReference ? "reference" : "fast",
                ["output_sha256"] = outputHashes[0],
                ["outputs_identical"] = outputHashes.Distinct().Count() == 1,
            };
            Console.WriteLine(JsonSerializer.Serialize(line, CliJson.Default.DictionaryStringObject).ReplaceLineEndings(" "));
            return Task.FromResult(0);
        }));
        return command;
    }

    private static double Median(List<double> values)
    {
        var v = values.Order().ToList();
        return v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
    }

    /// <summary>Attributes the time between progress steps to the stage that finished.</summary>
    private sealed class StageTimer : IProgress<ModelProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        public Dictionary<string, double> Seconds { get; } = [];
        /// <summary>The process's peak resident set when each stage last reported, to see where the peak is reached.</summary>
        public Dictionary<string, long> PeakBytesAfter { get; } = [];

        public void Report(ModelProgress value)
        {
            Seconds[value.Stage] = Seconds.GetValueOrDefault(value.Stage) + _clock.Elapsed.TotalSeconds;
            PeakBytesAfter[value.Stage] = PeakMemoryBytes();
            _clock.Restart();
        }
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
