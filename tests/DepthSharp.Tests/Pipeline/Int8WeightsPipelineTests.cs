using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Pipeline;

/// <summary>
/// The 8-bit weight option end to end on every fixture family: the estimator loads (the strict loader still accounts for
/// every tensor) and its depth stays near the float32 weights' depth.
/// </summary>
public sealed class Int8WeightsPipelineTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("depth_pro_tiny")]
    [InlineData("depth_pro_tiny_nofov_f16")]
    [InlineData("dpt_tiny")]
    [InlineData("depth_anything_tiny_relative")]
    [InlineData("depth_anything_tiny_metric")]
    [InlineData("zoedepth_tiny_n_normed")]
    public void Int8_weights_keep_the_depth_within_a_few_percent(string name)
    {
        string dir = Fixtures.Path("models", name);
        var picture = ImageFile.Load(Path.Combine(dir, "image0.png"));
        var exact = DepthEstimator.Load(dir).Estimate(picture).Depth;
        var int8 = DepthEstimator.Load(dir, new DepthEstimatorOptions { Int8Weights = true }).Estimate(picture).Depth;
        Assert.Equal(exact.Length, int8.Length);
        // Relative L2 against the depth's spread, the fixtures' measure; the bound is a sanity limit (measured values are
        // in BENCHMARKS.md), tight enough that a wrong scale, sign or layout (errors of order 1) fails.
        double mean = exact.Average(v => (double)v), num = 0, den = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            Assert.True(float.IsFinite(int8[i]), $"{name}: value {i} is {int8[i]}");
            num += Math.Pow(int8[i] - exact[i], 2);
            den += Math.Pow(exact[i] - mean, 2);
        }
        double rel = Math.Sqrt(num / den);
        output.WriteLine($"{name}: int8 against float32 weights, relative L2 {rel:E2}");
        Assert.True(rel > 0, "int8 weights changed nothing: the option did not reach the linear layers");
        Assert.True(rel < 5e-2, $"{name}: relative L2 {rel:E2} against the float32 weights' depth");
    }
}
