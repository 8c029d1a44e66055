using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Benchmarks;

/// <summary>
/// One Prompt Depth Anything forward pass on 2 threads at the speed target's size: a 756×1008 picture (a phone's 4:3
/// frame as the released processor resizes it) with a 192×256 prompt, random weights in the released checkpoint's
/// architecture (config.json from the shared fixtures, or the folder DEPTHSHARP_PDA_CHECKPOINTS names). Until the
/// family is in the pipeline's `bench` command: `dotnet run -c Release --project bench/DepthSharp.Benchmarks -- --filter '*PromptDepth*'`.
/// </summary>
[Config(typeof(Config))]
public class PromptDepthAnythingBenchmarks
{
    /// <summary>
    /// Each pass takes seconds: no pilot stage, one warm-up, five measured passes; tiered compilation off as in the CLI. The
    /// generated project's build may wait on a busy shared machine for longer than the default two minutes.
    /// </summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
                .WithEnvironmentVariables(new EnvironmentVariable("DOTNET_TieredCompilation", "0")));
            WithBuildTimeout(TimeSpan.FromMinutes(15));
        }
    }

    private PromptDepthAnythingForDepthEstimation? _model;
    private Tensor _pixels = Tensor.Zeros(1);
    private Tensor _prompt = Tensor.Zeros(1);

    [Params("vitl", "vits")]
    public string Model { get; set; } = "vitl";

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = 2;
        string folder = Path.Combine(CheckpointsFolder(), $"depth-anything--prompt-depth-anything-{Model}-hf");
        _model = new PromptDepthAnythingForDepthEstimation(new Weights(new RandomWeights(0)), PromptDepthAnythingConfig.Load(Path.Combine(folder, "config.json")));
        _pixels = new Tensor(Data.Random(3L * 756 * 1008, 1), 1, 3, 756, 1008);
        // A depth map of 0.5 to 4.5 m, as the processor gives a phone's millimetres in metres.
        var prompt = Data.Random(192L * 256, 2);
        for (int i = 0; i < prompt.Length; i++) prompt[i] = 2.5f + 2 * prompt[i];
        _prompt = new Tensor(prompt, 1, 1, 192, 256);
    }

    [Benchmark]
    public void Forward() => _model!.Forward(_pixels, _prompt).Release();

    private static string CheckpointsFolder()
    {
        if (Environment.GetEnvironmentVariable("DEPTHSHARP_PDA_CHECKPOINTS") is { Length: > 0 } configured) return configured;
        // BenchmarkDotNet runs the benchmark from a build folder under the repository: the shared fixtures sit beside it.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string beside = Path.Combine(dir.FullName, "shared", "fixtures", "checkpoints");
            if (Directory.Exists(beside)) return beside;
        }
        throw new DirectoryNotFoundException($"no shared/fixtures/checkpoints above {AppContext.BaseDirectory}; set DEPTHSHARP_PDA_CHECKPOINTS");
    }
}
