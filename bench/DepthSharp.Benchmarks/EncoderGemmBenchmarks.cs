using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Benchmarks;

/// <summary>
/// The linear layers of DepthPro's patch encoder at full size: 35 patches × 577 tokens = 20195 rows, through the
/// attention's 1024 → 3072 (q, k, v together), the MLP's 1024 → 4096 and 4096 → 1024. The weight is held [in, out] in
/// float32 or, as the released checkpoint stores it, float16 widened while packing. Compare with <see cref="FmaPeakBenchmarks"/>.
/// </summary>
[Config(typeof(FlopsConfig))]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class EncoderGemmBenchmarks : IFlopCount
{
    private const int M = 35 * 577;
    private float[] _x = [], _w = [], _bias = [], _y = [];
    private ushort[] _wHalf = [];
    private PackedWeight? _packed;

    [Params("1024x3072", "1024x4096", "4096x1024")]
    public string Shape { get; set; } = "1024x3072";

    [Params("f32", "f16")]
    public string Weights { get; set; } = "f32";

    [Params(1, 2)]
    public int Threads { get; set; }

    private int K => int.Parse(Shape.Split('x')[0], System.Globalization.CultureInfo.InvariantCulture);
    private int N => int.Parse(Shape.Split('x')[1], System.Globalization.CultureInfo.InvariantCulture);

    public double Flops => 2.0 * M * N * K;

    [GlobalSetup]
    public void Setup()
    {
        KernelOptions.Threads = Threads;
        _x = Data.Random((long)M * K, 1);
        _w = Data.Random((long)K * N, 2);
        _wHalf = new ushort[_w.Length];
        for (int i = 0; i < _w.Length; i++) _wHalf[i] = BitConverter.HalfToUInt16Bits((Half)_w[i]);
        // The float32 layers hold their weight packed at load, from nn.Linear's [out, in] (here _w is [in, out]).
        var wOutIn = new float[_w.Length];
        for (int i = 0; i < K; i++)
            for (int j = 0; j < N; j++) wOutIn[(long)j * K + i] = _w[(long)i * N + j];
        _packed = new PackedWeight(new Tensor(wOutIn, N, K));
        _bias = Data.Random(N, 3);
        _y = new float[(long)M * N];
    }

    [Benchmark]
    public void Linear()
    {
        if (Weights == "f16") Fast.LinearWeightT(_x, M, K, _wHalf, HalfKind.F16, _bias, N, _y);
        else Fast.LinearPacked(_x, M, K, _packed!.Packed, _bias, N, _y);
    }
}

/// <summary>
/// The machine's float32 FMA peak, measured: every thread runs chains of independent 512-bit fused multiply-adds held in
/// registers (enough chains to cover the FMA latency), so nothing but the FMA units limits it.
/// </summary>
[Config(typeof(FlopsConfig))]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 10)]
public class FmaPeakBenchmarks : IFlopCount
{
    private const int Iterations = 20_000_000;
    private const int Chains = 12;

    [Params(1, 2)]
    public int Threads { get; set; }

    public double Flops => 2.0 * 16 * Chains * (double)Iterations * Threads;

    [Benchmark]
    public float Peak()
    {
        var sums = new float[Threads];
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t => sums[t] = Chain());
        return sums.Sum();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Chain()
    {
        var a = Vector512.Create(0.999f);
        var b = Vector512.Create(1e-7f);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector512<float> c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, a, b); c1 = Vector512.FusedMultiplyAdd(c1, a, b);
            c2 = Vector512.FusedMultiplyAdd(c2, a, b); c3 = Vector512.FusedMultiplyAdd(c3, a, b);
            c4 = Vector512.FusedMultiplyAdd(c4, a, b); c5 = Vector512.FusedMultiplyAdd(c5, a, b);
            c6 = Vector512.FusedMultiplyAdd(c6, a, b); c7 = Vector512.FusedMultiplyAdd(c7, a, b);
            c8 = Vector512.FusedMultiplyAdd(c8, a, b); c9 = Vector512.FusedMultiplyAdd(c9, a, b);
            c10 = Vector512.FusedMultiplyAdd(c10, a, b); c11 = Vector512.FusedMultiplyAdd(c11, a, b);
        }
        var s = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
        return Vector512.Sum(s);
    }
}
