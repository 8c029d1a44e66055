using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>Group norm, constant padding and max pooling: the fast kernels against the reference loops on awkward sizes.</summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class GroupNormPoolKernelTests
{
    public static TheoryData<int, int, int, int, int> GroupNormCases() => new()
    {
        // batch, channels, plane, groups, threads
        { 1, 1, 1, 1, 1 },
        { 2, 6, 7, 3, 2 },
        { 1, 8, 17 * 13, 4, 1 },
        { 3, 12, 5, 1, 2 },
        // Groups longer than the kernel's float runs of 4096 values, one of them with a partial last run.
        { 1, 2, 4099, 1, 2 },
        { 2, 3, 4096, 3, 1 },
        { 1, 64, 9 * 11, 32, 2 },
    };

    [Theory]
    [MemberData(nameof(GroupNormCases))]
    public void GroupNorm_matches_reference(int batch, int channels, int plane, int groups, int threads)
    {
        using var _ = new Options(threads);
        // Shifted off zero, so that a mean taken carelessly would spoil the variance.
        var x = Random(11, (long)batch * channels * plane, 2f).Select(v => v + 3f).ToArray();
        var gamma = Random(12, channels);
        var beta = Random(13, channels);
        var expected = new float[x.Length];
        var actual = new float[x.Length];
        Reference.GroupNorm(x, batch, channels, plane, groups, gamma, beta, 1e-5f, expected);
        Fast.GroupNorm(x, batch, channels, plane, groups, gamma, beta, 1e-5f, actual);
        AssertClose(expected, actual, (long)channels / groups * plane, $"group norm B={batch} C={channels} plane={plane} G={groups} T={threads}");
    }

    [Fact]
    public void GroupNorm_normalises_each_group_of_consecutive_channels()
    {
        // Two groups of two channels: the first group holds 1..8, the second 10, 10, ... with one 20.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 10, 10, 10, 10, 10, 10, 10, 20];
        foreach (bool reference in new[] { true, false })
        {
            var y = new float[x.Length];
            float[] ones = [1, 1, 1, 1], zeros = [0, 0, 0, 0];
            if (reference) Reference.GroupNorm(x, 1, 4, 4, 2, ones, zeros, 0f, y);
            else Fast.GroupNorm(x, 1, 4, 4, 2, ones, zeros, 0f, y);
            // 1..8: mean 4.5, biased variance 5.25.
            for (int i = 0; i < 8; i++) Assert.Equal((x[i] - 4.5) / Math.Sqrt(5.25), y[i], 5);
            // Seven 10s and one 20: mean 11.25, biased variance 10.9375.
            for (int i = 8; i < 16; i++) Assert.Equal((x[i] - 11.25) / Math.Sqrt(10.9375), y[i], 5);
        }
    }

    public static TheoryData<int, int, int, int, int, int, int, float> PadCases() => new()
    {
        // planes, h, w, left, right, top, bottom, value
        { 1, 1, 1, 0, 0, 0, 0, 0f },
        { 3, 5, 7, 0, 1, 0, 1, 0f },
        { 2, 4, 3, 2, 3, 1, 2, -2.5f },
        { 5, 1, 9, 1, 1, 1, 1, 0f },
        { 4, 33, 17, 3, 2, 0, 3, 7f },
    };

    [Theory]
    [MemberData(nameof(PadCases))]
    public void ConstantPad2d_matches_reference(int planes, int h, int w, int left, int right, int top, int bottom, float value)
    {
        using var _ = new Options(2);
        var x = Random(21, (long)planes * h * w);
        var expected = new float[planes * (top + h + bottom) * (left + w + right)];
        var actual = new float[expected.Length];
        Reference.ConstantPad2d(x, planes, h, w, left, right, top, bottom, value, expected);
        Fast.ConstantPad2d(x, planes, h, w, left, right, top, bottom, value, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ConstantPad2d_puts_the_input_inside_the_border()
    {
        // [[1, 2], [3, 4]] padded (left 1, right 0, top 0, bottom 1) with 9.
        var y = Ops.ConstantPad2d(new Tensor([1, 2, 3, 4], 1, 1, 2, 2), 1, 0, 0, 1, 9f);
        Assert.Equal([1, 1, 3, 3], y.Shape);
        Assert.Equal([9, 1, 2, 9, 3, 4, 9, 9, 9], y.Data);
    }

    public static TheoryData<int, int, int, int, int, int> MaxPoolCases() => new()
    {
        // planes, h, w, kernel, stride, threads
        { 1, 3, 3, 3, 2, 1 },
        { 3, 17, 13, 3, 2, 2 },
        { 2, 8, 9, 2, 2, 1 },
        { 5, 7, 7, 3, 1, 2 },
        { 1, 33, 31, 3, 3, 2 },
        { 70, 16, 16, 3, 2, 2 },
    };

    [Theory]
    [MemberData(nameof(MaxPoolCases))]
    public void MaxPool2d_matches_reference(int planes, int h, int w, int kernel, int stride, int threads)
    {
        using var _ = new Options(threads);
        var x = Random(31, (long)planes * h * w);
        int oh = (h - kernel) / stride + 1, ow = (w - kernel) / stride + 1;
        var expected = new float[planes * oh * ow];
        var actual = new float[expected.Length];
        Reference.MaxPool2d(x, planes, h, w, kernel, stride, expected);
        Fast.MaxPool2d(x, planes, h, w, kernel, stride, actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void MaxPool2d_takes_the_window_maximum_and_propagates_nan()
    {
        // 4×5, 3×3 windows at stride 2: two side by side over rows 0–2 (columns 0–2 and 2–4); the last row is never read.
        float[] x =
        [
            1, 2, 3, 4, 50,
            5, 9, 6, 8, 7,
            0, 1, 2, float.NaN, 3,
            99, 99, 99, 99, 99,
        ];
        foreach (bool reference in new[] { true, false })
        {
            var y = new float[2];
            if (reference) Reference.MaxPool2d(x, 1, 4, 5, 3, 2, y);
            else Fast.MaxPool2d(x, 1, 4, 5, 3, 2, y);
            Assert.Equal(9f, y[0]);
            Assert.True(float.IsNaN(y[1]), $"window with a NaN gave {y[1]}");
        }
    }
}
