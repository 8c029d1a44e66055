using BenchmarkDotNet.Attributes;
using DepthSharp.Tensors;
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
    private PackedWeight? _packed;

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
        _packed = new PackedWeight(new Tensor(_w, N, K));
        _bias = Data.Random(N, 3);
        _y = new float[(long)M * N];
    }

    /// <summary>y = x·wᵀ + b with w [out, in] packed at load, as the model's float32 linear layers hold it.</summary>
    [Benchmark]
    public void Linear() => Fast.LinearPacked(_x, M, K, _packed!.Packed, _bias, N, _y);

    /// <summary>Plain C = A·B (both untransposed).</summary>
    [Benchmark]
    public void Gemm() => Fast.Gemm(M, N, K, _x, K, false, _w, N, false, _y, N, false);
}

/// <summary>
/// The decoders' 3×3, stride 1, padding 1 convolutions (the Winograd path): DepthPro's 256 → 256 at 192² and 384²,
/// and a DPT / Depth Anything head conv, 64 → 64 at 296². GFLOP/s counts the direct convolution's 2·O·C·9·H·W.
/// </summary>
[Config(typeof(FlopsConfig))]
public class ConvBenchmarks : IFlopCount
{
    private float[] _x = [], _w = [], _bias = [], _y = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Channels (in = out) @ side.</summary>
    [Params("256@192", "256@384", "64@296")]
    public string Shape { get; set; } = "256@192";

    private ConvShape Conv
    {
        get
        {
            var p = Shape.Split('@');
            int c = int.Parse(p[0]), side = int.Parse(p[1]);
            return new ConvShape(1, c, side, side, c, 3, 3, 1, 1, 1, 1);
        }
    }

    public double Flops => 2.0 * Conv.OutChannels * Conv.InChannels * 9 * Conv.InH * Conv.InW;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        var s = Conv;
        _x = Data.Random((long)s.InChannels * s.InH * s.InW, 4);
        _w = Data.Random((long)s.OutChannels * s.InChannels * 9, 5);
        _bias = Data.Random(s.OutChannels, 6);
        _y = new float[(long)s.OutChannels * s.OutH * s.OutW];
    }

    [Benchmark]
    public void Conv3x3() => Fast.Conv2d(Conv, _x, _w, _bias, _y);
}

/// <summary>The 2×2 stride-2 transposed convolution that upsamples into the decoder, 256 → 256 from 96² to 192².</summary>
[Config(typeof(FlopsConfig))]
public class ConvTransposeBenchmarks : IFlopCount
{
    private static readonly ConvShape Upsample = new(1, 256, 96, 96, 256, 2, 2, 2, 2, 0, 0);
    private float[] _x = [], _w = [], _bias = [], _y = [];

    [Params(1, 2)]
    public int Threads { get; set; }

    public double Flops => 2.0 * Upsample.InChannels * Upsample.InH * Upsample.InW * Upsample.OutChannels * 4;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        var u = Upsample;
        _x = Data.Random((long)u.InChannels * u.InH * u.InW, 7);
        _w = Data.Random((long)u.InChannels * u.OutChannels * 4, 8);
        _bias = Data.Random(u.OutChannels, 6);
        _y = new float[(long)u.OutChannels * u.TransposedOutH * u.TransposedOutW];
    }

    [Benchmark]
    public void ConvTranspose2x2() => Fast.ConvTranspose2d(Upsample, _x, _w, _bias, _y);
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
