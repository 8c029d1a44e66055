using BenchmarkDotNet.Attributes;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Benchmarks;

/// <summary>
/// Swin V2 window attention at DPT-SwinV2-Tiny's first stage for a 256×256 picture: 16 shifted windows of 16×16 tokens,
/// 3 heads of 32, with the shifted-window mask.
/// </summary>
[Config(typeof(FlopsConfig))]
public class WindowAttentionBenchmarks : IFlopCount
{
    private const int Windows = 16, N = 256, H = 3, D = 32, Side = 16;
    private float[] _q = [], _k = [], _v = [], _o = [], _scales = [], _table = [];
    private int[] _index = [], _regions = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Q·Kᵀ and P·V, 2·N·N·D each per (window, head); the softmax is not counted.</summary>
    public double Flops => 4.0 * Windows * H * N * N * D;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        long size = (long)Windows * N * H * D;
        _q = Data.Random(size, 12);
        _k = Data.Random(size, 13);
        _v = Data.Random(size, 14);
        _o = new float[size];
        _scales = [10f, 20f, 100f];
        _table = Data.Random(H * (2 * Side - 1) * (2 * Side - 1), 15);
        _index = Swinv2SelfAttention.RelativePositionIndex(Side);
        // The last row and column of a 4×4 grid of windows mix the bands the shift wrapped around.
        _regions = new int[Windows * N];
        for (int w = 0; w < Windows; w++)
            for (int t = 0; t < N; t++)
                _regions[w * N + t] = (w / 4 == 3 && t / Side >= Side / 2 ? 3 : 0) + (w % 4 == 3 && t % Side >= Side / 2 ? 1 : 0);
    }

    [Benchmark]
    public void WindowAttention() => Fast.WindowAttention(_q, _k, _v, Windows, N, H, D, _scales, _table, (2 * Side - 1) * (2 * Side - 1),
        _index, _regions, -200f, _o);

    /// <summary>The same shape through the dot-product attention with a gathered bias: no normalisation, one scale, no mask.</summary>
    [Benchmark(Baseline = true)]
    public void DotProductAttention() => Fast.AttentionWithBias(_q, _k, _v, _table, (2 * Side - 1) * (2 * Side - 1), _index,
        Windows, N, N, H, D, 0.2f, _o);
}

/// <summary>The whole Swinv2Backbone of DPT-SwinV2-Tiny-256 (random weights) on a 256×256 picture.</summary>
public class Swinv2BackboneBenchmarks
{
    private Swinv2Backbone? _backbone;
    private Tensor? _pixels;

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        var config = new Swinv2Config { ImageSize = 256, WindowSize = 16, OutFeatures = ["stage1", "stage2", "stage3", "stage4"] };
        config.Validate(null, "backbone_config.");
        _backbone = new Swinv2Backbone(new Weights(new RandomWeights(5))["backbone"], config);
        _pixels = new Tensor(Data.Random(3 * 256 * 256, 16), 1, 3, 256, 256);
    }

    [Benchmark]
    public void Forward()
    {
        foreach (var map in _backbone!.Forward(_pixels!)) map.Release();
    }
}
