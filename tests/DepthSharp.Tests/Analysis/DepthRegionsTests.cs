using DepthSharp.Analysis;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Analysis;

/// <summary>Region statistics against values worked out by hand (numpy's linear percentiles).</summary>
public sealed class DepthRegionsTests
{
    /// <summary>A 20×10 map whose pixel (x, y) holds 100·y + x + 1, with NaN at (0, 0) when asked.</summary>
    private static DepthResult Map(bool nanCorner = false)
    {
        var v = new float[200];
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 20; x++)
                v[y * 20 + x] = 100 * y + x + 1;
        if (nanCorner) v[0] = float.NaN;
        return new DepthResult(v, 20, 10, DepthKind.Metric, null, null, FocalLengthSource.None);
    }

    [Fact]
    public void StatisticsOfABox()
    {
        // Rows 2..3, columns 5..9: 206..210 and 306..310.
        var s = DepthRegions.Measure(Map(), new DepthRegion(5, 2, 5, 2));
        Assert.Equal(10, s.Pixels);
        Assert.Equal(206, s.Min);
        Assert.Equal(258, s.Mean, 9);
        // Sorted: 206 207 208 209 210 306 307 308 309 310; the median sits halfway between 210 and 306.
        Assert.Equal(258, s.Median, 9);
        // 10th percentile at position 0.9: 206 + 0.9; 90th at 8.1: 309 + 0.1.
        Assert.Equal(206.9, s.P10, 9);
        Assert.Equal(309.1, s.P90, 9);
    }

    [Fact]
    public void NonFiniteDepthIsLeftOut()
    {
        var s = DepthRegions.Measure(Map(nanCorner: true), new DepthRegion(0, 0, 3, 1));
        Assert.Equal(2, s.Pixels);
        Assert.Equal(2, s.Min);
        Assert.Equal(2.5, s.Median, 9);
    }

    [Theory]
    [InlineData(-1, 0, 5, 5)]
    [InlineData(16, 0, 5, 5)]
    [InlineData(0, 6, 5, 5)]
    [InlineData(0, 0, 21, 1)]
    public void ABoxReachingOutsideIsRefused(int x, int y, int w, int h)
    {
        var e = Assert.Throws<DepthAnalysisException>(() => DepthRegions.Measure(Map(), new DepthRegion(x, y, w, h)));
        Assert.Equal(DepthAnalysisError.OutsidePicture, e.Kind);
    }

    [Fact]
    public void AnEmptyBoxOrOneWithoutDepthIsRefused()
    {
        Assert.Equal(DepthAnalysisError.EmptyRegion, Assert.Throws<DepthAnalysisException>(() => DepthRegions.Measure(Map(), new DepthRegion(0, 0, 0, 3))).Kind);
        Assert.Equal(DepthAnalysisError.EmptyRegion, Assert.Throws<DepthAnalysisException>(() => DepthRegions.Measure(Map(nanCorner: true), new DepthRegion(0, 0, 1, 1))).Kind);
    }
}
