using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>
/// The bin kernels (<see cref="DepthSharp.Tensors.Kernels.Bins.BinOps"/>: log-binomial distribution, attractor step,
/// sorted clamped channels, softplus) against their reference loops, with the tolerance rule of
/// <see cref="KernelEquivalenceTests"/>: max|Δ| ≤ 2e-6 · √k · (1 + max|ref|).
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class BinKernelTests
{
    [Theory]
    [InlineData(1, 1, 64, 1)]
    [InlineData(2, 17, 3, 2)]
    [InlineData(1, 255, 64, 2)]
    [InlineData(2, 257, 64, 1)]
    [InlineData(1, 1000, 1, 2)]
    public void LogBinomialSoftmax_matches_reference(int batch, int plane, int bins, int threads)
    {
        using var _ = new Options(threads);
        // Softplus outputs are positive; spread them so that p and the temperature cover their ranges.
        var pt = Random(26, (long)batch * 4 * plane, 5f).Select(MathF.Abs).ToArray();
        var logBinom = Random(27, bins, 20f);
        float[] expected = new float[batch * bins * plane], actual = new float[batch * bins * plane];
        Reference.LogBinomialSoftmax(pt, batch, plane, logBinom, 0.0212f, 50f - 0.0212f, expected);
        Fast.LogBinomialSoftmax(pt, batch, plane, logBinom, 0.0212f, 50f - 0.0212f, actual);
        AssertClose(expected, actual, bins, $"log-binomial softmax B={batch} plane={plane} K={bins} T={threads}");
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
            {
                double total = 0;
                for (int k = 0; k < bins; k++) total += actual[(b * bins + k) * plane + p];
                Assert.Equal(1.0, total, 1e-5);
            }
    }

    [Theory]
    [InlineData(1, 1, 1, 1, 1, false, 1)]
    [InlineData(2, 64, 17, 16, 2, true, 2)]
    [InlineData(1, 64, 257, 4, 1, false, 2)]
    [InlineData(2, 3, 1000, 8, 2, true, 1)]
    public void AttractorShift_matches_reference(int batch, int bins, int plane, int count, int stride, bool mean, int threads)
    {
        using var _ = new Options(threads);
        var centers = Random(28, (long)batch * bins * plane, 1f);
        var attractors = Random(29, (long)batch * count * stride * plane, 1f);
        float[] expected = new float[centers.Length], actual = new float[centers.Length];
        Reference.AttractorShift(centers, batch, bins, plane, attractors, count, stride, 1e-3f, 300f, mean, expected);
        Fast.AttractorShift(centers, batch, bins, plane, attractors, count, stride, 1e-3f, 300f, mean, actual);
        AssertClose(expected, actual, count, $"attractors B={batch} K={bins} plane={plane} n={count} T={threads}");
    }

    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(2, 64, 33, 2)]
    [InlineData(1, 7, 1000, 2)]
    public void SortChannelsClamp_matches_reference(int batch, int channels, int plane, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(30, (long)batch * channels * plane, 1f);
        float[] expected = new float[x.Length], actual = new float[x.Length];
        Reference.SortChannelsClamp(x, batch, channels, plane, 10f, 0.5f, 0.5f, 8f, expected);
        Fast.SortChannelsClamp(x, batch, channels, plane, 10f, 0.5f, 0.5f, 8f, actual);
        Assert.Equal(expected, actual);
        // Sorted along the channels and inside the bounds.
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
                for (int k = 0; k < channels; k++)
                {
                    float v = actual[(b * channels + k) * plane + p];
                    Assert.InRange(v, 0.5f, 8f);
                    if (k > 0) Assert.True(actual[(b * channels + k - 1) * plane + p] <= v);
                }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(70001)]
    public void Softplus_matches_reference(int n)
    {
        using var _ = new Options(2);
        var x = Random(25, n, 40f);
        var expected = new float[n];
        var actual = new float[n];
        Reference.Softplus(x, expected);
        Fast.Softplus(x, actual);
        AssertClose(expected, actual, 1, $"softplus n={n}");
    }

    [Theory]
    [InlineData(0f, 0.6931472f)]
    [InlineData(25f, 25f)]
    [InlineData(-40f, 4.248354e-18f)]
    [InlineData(2f, 2.126928f)]
    public void Softplus_matches_exact_values(float x, float exact)
    {
        var y = new float[1];
        Reference.Softplus([x], y);
        Assert.Equal(exact, y[0], exact * 1e-6f);
    }
}
