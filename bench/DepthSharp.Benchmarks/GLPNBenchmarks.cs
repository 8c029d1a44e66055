using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using DepthSharp.Checkpoints;
using DepthSharp.Models.GLPN;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Benchmarks;

/// <summary>
/// GLPN-KITTI's forward pass (vinvino02/glpn-kitti's config.json, random weights) on a KITTI-sized 352×1216 input:
/// one warm-up pass, then each iteration one pass. Until GLPN is registered with the pipeline, this stands in for
/// `depthsharp bench`. The config is found in the shared fixtures beside the repository, or at DEPTHSHARP_GLPN_CONFIG.
/// e.g. dotnet run -c Release -- --filter '*GLPN*'
/// </summary>
[Config(typeof(PassConfig))]
public class GLPNBenchmarks
{
    /// <summary>
    /// Seconds-long passes, timed one at a time after one warm-up pass, with tiered compilation off as the CLI runs; the
    /// benchmark's own build may take minutes on a busy host (BenchmarkDotNet's default limit is two).
    /// </summary>
    private sealed class PassConfig : ManualConfig
    {
        public PassConfig()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
                .WithEnvironmentVariable("DOTNET_TieredCompilation", "0"));
            WithBuildTimeout(TimeSpan.FromMinutes(10));
        }
    }

    private GLPNForDepthEstimation? _model;
    private Tensor? _pixelValues;

    [Params(2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        var config = GLPNConfig.Load(ConfigPath());
        _model = new GLPNForDepthEstimation(new Weights(new RandomWeights(0)), config);
        _pixelValues = new Tensor(Data.Random(3 * 352 * 1216, 1), 1, 3, 352, 1216);
        // As the pipeline does after loading: the load's garbage collected before the first pass.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    [Benchmark]
    public void Forward() => _model!.Forward(_pixelValues!).Release();

    private static string ConfigPath()
    {
        if (Environment.GetEnvironmentVariable("DEPTHSHARP_GLPN_CONFIG") is { Length: > 0 } path) return path;
        string relative = Path.Combine("shared", "fixtures", "checkpoints", "vinvino02--glpn-kitti", "config.json");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var root in new[] { dir.FullName, dir.Parent?.FullName })
                if (root is not null && File.Exists(Path.Combine(root, relative))) return Path.Combine(root, relative);
        }
        throw new FileNotFoundException($"no {relative} above {AppContext.BaseDirectory}; set DEPTHSHARP_GLPN_CONFIG");
    }
}
