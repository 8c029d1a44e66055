using BenchmarkDotNet.Attributes;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Benchmarks;

/// <summary>Random values in [-1, 1) from a fixed seed.</summary>
internal static class Data
{
    public static float[] Random(long count, int seed)
    {
        var rng = new Random(seed);
        var a = new float[count];
        for (long i = 0; i < count; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}

/// <summary>The ViT-L linear layers of DepthPro's patch encoder: 8 patches of 577 tokens, hidden 1024, MLP 4096.</summary>
[Config(typeof(FlopsConfig))]
public class GemmBenchmarks : IFlopCount
{
    private const int M = 577 * 8, K = 1024;
    private float[] _x = [], _w = [], _bias = [], _y = [];

    [Params(1024, 4096)]
    public int N { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    public double Flops => 2.0 * M * N * K;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        _x = Data.Random((long)M * K, 1);
        _w = Data.Random((long)N * K, 2);
        _bias = Data.Random(N, 3);
        _y = new float[(long)M * N];
    }

    /// <summary>y = x·w + b with the weight kept [in, out], as the model's linear layers hold it.</summary>
    [Benchmark]
    public void Linear() => Fast.LinearWeightT(_x, M, K, _w, _bias, N, _y);

    /// <summary>Plain C = A·B (both untransposed).</summary>
    [Benchmark]
    public void Gemm() => Fast.Gemm(M, N, K, _x, K, false, _w, N, false, _y, N, false);
}

/// <summary>The decoder's 3×3 256→256 convolution at 192², and the 2×2 stride-2 transposed convolution that upsamples into it.</summary>
[Config(typeof(FlopsConfig))]
public class ConvBenchmarks : IFlopCount
{
    private static readonly ConvShape Conv3x3 = new(1, 256, 192, 192, 256, 3, 3, 1, 1, 1, 1);
    private static readonly ConvShape Upsample = new(1, 256, 96, 96, 256, 2, 2, 2, 2, 0, 0);
    private float[] _x = [], _w = [], _bias = [], _y = [], _ux = [], _uw = [], _uy = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    [Params("conv3x3", "convT2x2")]
    public string Kind { get; set; } = "conv3x3";

    public double Flops => Kind == "conv3x3"
        ? 2.0 * Conv3x3.OutChannels * Conv3x3.OutH * Conv3x3.OutW * Conv3x3.InChannels * 9
        : 2.0 * Upsample.InChannels * Upsample.InH * Upsample.InW * Upsample.OutChannels * 4;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        var s = Conv3x3;
        _x = Data.Random((long)s.InChannels * s.InH * s.InW, 4);
        _w = Data.Random((long)s.OutChannels * s.InChannels * 9, 5);
        _bias = Data.Random(s.OutChannels, 6);
        _y = new float[(long)s.OutChannels * s.OutH * s.OutW];
        var u = Upsample;
        _ux = Data.Random((long)u.InChannels * u.InH * u.InW, 7);
        _uw = Data.Random((long)u.InChannels * u.OutChannels * 4, 8);
        _uy = new float[(long)u.OutChannels * u.TransposedOutH * u.TransposedOutW];
    }

    [Benchmark]
    public void Run()
    {
        if (Kind == "conv3x3") Fast.Conv2d(Conv3x3, _x, _w, _bias, _y);
        else Fast.ConvTranspose2d(Upsample, _ux, _uw, _bias, _uy);
    }
}

/// <summary>Self-attention of 8 ViT-L patches: 577 tokens, 16 heads of 64.</summary>
[Config(typeof(FlopsConfig))]
public class AttentionBenchmarks : IFlopCount
{
    private const int B = 8, N = 577, H = 16, D = 64;
    private float[] _q = [], _k = [], _v = [], _o = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Q·Kᵀ and P·V, 2·N·N·D each per (batch, head); the softmax is not counted.</summary>
    public double Flops => 4.0 * B * H * N * N * D;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        long size = (long)B * N * H * D;
        _q = Data.Random(size, 9);
        _k = Data.Random(size, 10);
        _v = Data.Random(size, 11);
        _o = new float[size];
    }

    [Benchmark]
    public void Attention() => Fast.Attention(_q, _k, _v, B, N, N, H, D, 0.125f, _o);
}
