using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>
/// The Winograd F(4×4, 3×3) convolution against the direct reference loop.
/// Tolerance: max|Δ| ≤ 1e-5 · max_i S_i, where S_i = Σ|w|·|x| + |b| is the sum of the magnitudes of the terms behind
/// output i. Winograd's error is not the ε·√k of a reordered sum: each product passes through the input, weight and
/// output transforms (entries up to 8 and down to 1/24), so it carries rounding of up to ~100 ε of |w·x| before the sum.
/// Observed max|Δ| / max S is 1–2e-6 (relative L2 1–4e-6); a dropped or doubled tap costs about S / k (≥ 1e-3 · S here),
/// far above the bound.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class WinogradTests
{
    public static TheoryData<int, int, int, int, int, int> Cases()
    {
        // batch, in channels, H, W, out channels, threads: sizes not multiples of 4 (partial tiles at the right and
        // bottom), single-pixel and single-row images, odd channel counts (partial GEMM row slivers), tile rows wider
        // than the 16 lanes and blocks that start mid-row or straddle a 32-tile sliver, and a K split (C > 384).
        var data = new TheoryData<int, int, int, int, int, int>();
        (int b, int c, int h, int w, int o)[] shapes =
        [
            (1, 1, 1, 1, 1), (2, 3, 1, 7, 5), (2, 33, 3, 5, 67), (2, 67, 7, 13, 33), (1, 33, 13, 37, 67),
            (2, 16, 37, 37, 17), (1, 5, 5, 150, 9), (1, 8, 70, 65, 20), (1, 400, 9, 11, 15),
        ];
        foreach (var (b, c, h, w, o) in shapes)
        {
            data.Add(b, c, h, w, o, 1);
            data.Add(b, c, h, w, o, 2);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Winograd_matches_reference(int batch, int inC, int h, int w, int outC, int threads)
    {
        // The transforms are AVX-512 only; elsewhere Fast.Conv2d never takes this path.
        if (!Winograd.IsSupported) return;
        using var _ = new Options(threads);
        var s = new ConvShape(batch, inC, h, w, outC, 3, 3, 1, 1, 1, 1);
        var x = Random(20, (long)batch * inC * h * w);
        var wt = Random(21, (long)outC * inC * 9);
        foreach (bool withBias in new[] { false, true })
        {
            var bias = withBias ? Random(22, outC) : [];
            var actual = new float[(long)batch * outC * h * w];
            unsafe
            {
                fixed (float* px = x, pw = wt, pb = bias, py = actual)
                    Winograd.Conv3x3(s, px, pw, withBias ? pb : null, py);
            }
            Check(s, x, wt, bias, actual, $"winograd {s} bias={withBias} T={threads}");
        }
    }

    /// <summary>Shapes the dispatch sends to Winograd (a decoder conv at 256 channels) and one it keeps on im2col.</summary>
    [Theory]
    [InlineData(1, 256, 24, 40, 256, 2)]
    [InlineData(2, 64, 37, 30, 65, 1)]
    [InlineData(1, 8, 40, 40, 64, 2)]
    public void Conv2d_3x3_matches_reference(int batch, int inC, int h, int w, int outC, int threads)
    {
        using var _ = new Options(threads);
        var s = new ConvShape(batch, inC, h, w, outC, 3, 3, 1, 1, 1, 1);
        var x = Random(23, (long)batch * inC * h * w);
        var wt = Random(24, (long)outC * inC * 9);
        var bias = Random(25, outC);
        var actual = new float[(long)batch * outC * h * w];
        Fast.Conv2d(s, x, wt, bias, actual);
        Check(s, x, wt, bias, actual, $"conv {s} T={threads}");
    }

    private static void Check(ConvShape s, float[] x, float[] w, float[] bias, float[] actual, string what)
    {
        var expected = new float[actual.Length];
        Reference.Conv2d(s, x, w, bias, expected);
        // S_i: the same convolution over magnitudes.
        var scale = new float[actual.Length];
        Reference.Conv2d(s, Abs(x), Abs(w), Abs(bias), scale);
        double maxDiff = 0, maxScale = 0;
        int at = -1;
        for (int i = 0; i < actual.Length; i++)
        {
            maxScale = Math.Max(maxScale, scale[i]);
            double d = Math.Abs((double)expected[i] - actual[i]);
            if (!(d <= maxDiff)) { maxDiff = double.IsNaN(d) ? double.PositiveInfinity : d; at = i; }
        }
        double tol = 1e-5 * maxScale;
        Assert.True(maxDiff <= tol,
            $"{what}: max|Δ| = {maxDiff:E3} at {at} (ref {(at >= 0 ? expected[at] : 0)}, fast {(at >= 0 ? actual[at] : 0)}) exceeds {tol:E3}");
    }

    private static float[] Abs(float[] a) => Array.ConvertAll(a, Math.Abs);
}
