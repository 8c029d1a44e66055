using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>The grouped convolution's fast kernel against its reference loops (tolerance as in <see cref="KernelEquivalenceTests"/>).</summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class GroupedConvTests
{
    /// <summary>[batch, in, h, w, out, groups, kernel h, kernel w, stride, padding], a thread count and the layout.</summary>
    public static TheoryData<int[], int, bool> Cases()
    {
        var data = new TheoryData<int[], int, bool>();
        int[][] shapes =
        [
            [1, 5, 13, 29, 7, 1, 3, 3, 1, 1],     // one group: the plain convolution
            [2, 7, 13, 53, 7, 7, 3, 3, 1, 1],     // depthwise, rows wide enough for several vectors
            [1, 7, 9, 37, 7, 7, 3, 3, 1, 0],      // depthwise, no padding
            [3, 3, 11, 41, 6, 3, 5, 5, 1, 2],     // depthwise with two outputs per channel, 5×5
            [1, 5, 17, 23, 5, 5, 3, 3, 2, 1],     // depthwise, stride 2
            [2, 3, 10, 31, 3, 3, 7, 7, 3, 3],     // depthwise, stride 3, kernel 7
            [1, 9, 2, 3, 9, 9, 3, 3, 1, 1],       // depthwise on a map smaller than the kernel's reach
            [1, 5, 1, 40, 5, 5, 1, 1, 1, 0],      // depthwise 1×1
            [1, 5, 15, 35, 5, 5, 3, 5, 1, 1],     // depthwise, rectangular kernel
            [2, 6, 13, 19, 9, 3, 3, 3, 1, 1],     // three groups of two inputs, three outputs
            [1, 12, 11, 21, 8, 4, 3, 3, 2, 1],    // four groups, stride 2
            [1, 6, 9, 9, 4, 2, 1, 1, 1, 0],       // two groups, 1×1
            [1, 256, 22, 76, 256, 256, 3, 3, 1, 1], // a GLPN Mix-FFN shape
            [1, 83, 7, 9, 83, 83, 3, 3, 1, 1],    // depthwise, channels not a multiple of 16 (64 + 16 + 3)
        ];
        foreach (var shape in shapes)
            foreach (bool channelsLast in new[] { false, true })
            {
                data.Add(shape, 1, channelsLast);
                data.Add(shape, 2, channelsLast);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GroupedConv2d_matches_reference(int[] geometry, int threads, bool channelsLast)
    {
        using var _ = new Options(threads);
        var (batch, inC, h, w, outC, groups) = (geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]);
        var (kh, kw, stride, pad) = (geometry[6], geometry[7], geometry[8], geometry[9]);
        var s = new ConvShape(batch, inC, h, w, outC, kh, kw, stride, stride, pad, pad);
        int perGroup = inC / groups;
        var x = Random(1, (long)batch * inC * h * w);
        var wt = Random(2, (long)outC * perGroup * kh * kw);
        var bias = Random(3, outC);
        var expected = new float[(long)batch * outC * s.OutH * s.OutW];
        var actual = Random(4, expected.Length, 100f);
        Reference.GroupedConv2d(s, groups, channelsLast, x, wt, bias, expected);
        Fast.GroupedConv2d(s, groups, channelsLast, x, wt, bias, actual);
        AssertClose(expected, actual, perGroup * kh * kw, $"grouped conv {s} in {groups} groups T={threads} channels last={channelsLast}");
    }

    [Theory]
    [InlineData(2, 6, 5, 7, 9, 3, 3, 1, 1)]
    [InlineData(1, 5, 6, 9, 5, 5, 3, 2, 1)]
    public void Channels_last_is_the_channels_first_convolution_transposed(int batch, int inC, int h, int w, int outC, int groups, int kernel, int stride, int pad)
    {
        var s = new ConvShape(batch, inC, h, w, outC, kernel, kernel, stride, stride, pad, pad);
        var first = Random(10, (long)batch * inC * h * w);
        var wt = Random(11, (long)outC * (inC / groups) * kernel * kernel);
        var bias = Random(12, outC);
        var yFirst = new float[(long)batch * outC * s.OutH * s.OutW];
        Reference.GroupedConv2d(s, groups, false, first, wt, bias, yFirst);
        var last = new float[first.Length];
        Reference.Permute(first, [batch, inC, h, w], [0, 2, 3, 1], last);
        var yLast = new float[yFirst.Length];
        Reference.GroupedConv2d(s, groups, true, last, wt, bias, yLast);
        var yLastAsFirst = new float[yFirst.Length];
        Reference.Permute(yLast, [batch, s.OutH, s.OutW, outC], [0, 3, 1, 2], yLastAsFirst);
        Assert.Equal(yFirst, yLastAsFirst);
    }

    [Fact]
    public void GroupedConv2d_without_bias_matches_reference()
    {
        using var _ = new Options(2);
        var s = new ConvShape(1, 6, 7, 33, 6, 3, 3, 1, 1, 1, 1);
        var x = Random(5, 6 * 7 * 33);
        var wt = Random(6, 6 * 9);
        var expected = new float[6 * 7 * 33];
        var actual = new float[expected.Length];
        foreach (bool channelsLast in new[] { false, true })
        {
            Reference.GroupedConv2d(s, 6, channelsLast, x, wt, default, expected);
            Fast.GroupedConv2d(s, 6, channelsLast, x, wt, default, actual);
            AssertClose(expected, actual, 9, $"depthwise without bias, channels last={channelsLast}");
        }
    }

    [Fact]
    public void Ops_picks_the_kernel_that_KernelOptions_asks_for()
    {
        using var _ = new Options(2);
        var x = new Tensor(Random(7, 2 * 8 * 9 * 35), 2, 8, 9, 35);
        var w = new Tensor(Random(8, 8 * 3 * 3), 8, 1, 3, 3);
        var b = new Tensor(Random(9, 8), 8);
        Tensor fast, fastLast, reference, referenceLast;
        using (KernelOptions.UseReference(false))
        {
            fast = Ops.GroupedConv2d(x, w, b, groups: 8, stride: 1, padding: 1);
            // The same numbers read as a channels-last map [2, 9, 35, 8]: a different convolution, of the same shape.
            fastLast = Ops.GroupedConv2d(x.Reshape(2, 9, 35, 8), w, b, groups: 8, stride: 1, padding: 1, channelsLast: true);
        }
        using (KernelOptions.UseReference(true))
        {
            reference = Ops.GroupedConv2d(x, w, b, groups: 8, stride: 1, padding: 1);
            referenceLast = Ops.GroupedConv2d(x.Reshape(2, 9, 35, 8), w, b, groups: 8, stride: 1, padding: 1, channelsLast: true);
        }
        Assert.Equal([2, 8, 9, 35], fast.Shape);
        Assert.Equal([2, 9, 35, 8], fastLast.Shape);
        AssertClose(reference.Data, fast.Data, 9, "Ops.GroupedConv2d");
        AssertClose(referenceLast.Data, fastLast.Data, 9, "Ops.GroupedConv2d channels last");
        // The two kernels sum in different orders (the fast one fuses multiply and add), so they are not bit-identical.
        Assert.NotEqual(reference.Data, fast.Data);
        Assert.NotEqual(referenceLast.Data, fastLast.Data);
    }

    [Theory]
    [InlineData(6, 6, 1, 4)]   // groups do not divide the input channels
    [InlineData(6, 4, 2, 3)]   // nor the output channels
    [InlineData(6, 6, 2, 2)]   // weight has 2 inputs per group, 3 are needed
    [InlineData(6, 6, 1, 0)]   // no groups
    public void Ops_refuses_groupings_that_do_not_fit(int inC, int outC, int perGroup, int groups)
    {
        var x = Tensor.Zeros(1, inC, 5, 5);
        var w = Tensor.Zeros(outC, perGroup, 3, 3);
        Assert.Throws<ArgumentException>(() => Ops.GroupedConv2d(x, w, null, groups, 1, 1));
    }
}
