using DepthSharp.Imaging;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Imaging;

/// <summary>torchvision's uint8 antialiased resize: the fast loops against the plain ones, hand-worked weights, and Pillow.</summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class TorchAntialiasResizeTests(ITestOutputHelper output)
{
    private static RgbImage RandomImage(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[width * height * 3];
        rng.NextBytes(pixels);
        // Runs of 0 and 255 next to each other make the cubic's overshoot reach both clamps.
        for (int i = 0; i < pixels.Length; i += 7) pixels[i] = (byte)(i / 7 % 2 == 0 ? 0 : 255);
        return new RgbImage(width, height, pixels);
    }

    public static TheoryData<int, int, int, int, PilFilter> Sizes()
    {
        var data = new TheoryData<int, int, int, int, PilFilter>();
        (int, int, int, int)[] sizes =
        [
            (37, 23, 11, 7),    // down both ways
            (13, 9, 41, 29),    // up both ways
            (50, 17, 17, 50),   // down across, up along
            (29, 19, 29, 7),    // vertical pass only
            (29, 19, 8, 19),    // horizontal pass only
            (31, 1, 7, 1),      // a single row
            (1, 31, 1, 9),      // a single column
            (97, 61, 5, 3),     // steep reduction: wide filters, finer weight precision
            (3, 2, 200, 151),   // steep enlargement
        ];
        foreach (var (w, h, ow, oh) in sizes)
        {
            data.Add(w, h, ow, oh, PilFilter.Bicubic);
            data.Add(w, h, ow, oh, PilFilter.Bilinear);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void FastMatchesReference(int width, int height, int outWidth, int outHeight, PilFilter filter)
    {
        var image = RandomImage(width, height, width * 1000 + height);
        byte[] expected;
        using (new KernelTestHelpers.Options(1, reference: true))
            expected = TorchAntialiasResize.Resize(image, outWidth, outHeight, filter).Pixels;
        foreach (int threads in new[] { 1, 2 })
        {
            using var _ = new KernelTestHelpers.Options(threads);
            var actual = TorchAntialiasResize.Resize(image, outWidth, outHeight, filter);
            Assert.Equal((outWidth, outHeight), (actual.Width, actual.Height));
            Assert.Equal(expected, actual.Pixels);
        }
    }

    /// <summary>
    /// 2 → 4 bicubic, worked by hand. Output 0 is centred at 0.25: taps 0 and 1 at distances 0.25 and 1.25 weigh
    /// 0.8671875 and −0.0703125, normalised by their sum 0.796875 to 1.0882353 and −0.0882353; output 1 (centre 0.75)
    /// weighs 0.8671875 and 0.2265625, normalised to 0.7928571 and 0.2071429; outputs 2 and 3 mirror them. The largest
    /// weight 1.088 allows 14 bits (2^15 · 1.088 overflows int16), so the int16 weights are 17830, −1446 and 12990, 3394.
    /// For samples 0 and 255: (8192 − 255·1446) >> 14 = −23 → 0, (8192 + 255·3394) >> 14 = 53, (8192 + 255·12990) >> 14 = 202,
    /// (8192 + 255·17830) >> 14 = 278 → 255.
    /// </summary>
    [Fact]
    public void BicubicEnlargementByHand()
    {
        var image = new RgbImage(2, 1, [0, 0, 0, 255, 255, 255]);
        foreach (bool reference in new[] { false, true })
        {
            using var _ = new KernelTestHelpers.Options(1, reference);
            var resized = TorchAntialiasResize.Resize(image, 4, 1, PilFilter.Bicubic);
            Assert.Equal(new byte[] { 0, 0, 0, 53, 53, 53, 202, 202, 202, 255, 255, 255 }, resized.Pixels);
        }
    }

    /// <summary>
    /// 4 → 2 bilinear, worked by hand: the filter is stretched to twice its width; output 0 (centre 1) reaches taps 0, 1, 2
    /// at halved distances 0.25, 0.25, 0.75: weights 0.75, 0.75, 0.25, normalised 3/7, 3/7, 1/7; output 1 mirrors it
    /// from tap 1. The largest weight 3/7 allows 16 bits: 28086.9 → 28087 and 9362.3 → 9362.
    /// </summary>
    [Fact]
    public void BilinearWeightsByHand()
    {
        var w = TorchAntialiasResize.Weights.Compute(4, 2, (1.0, x => Math.Abs(x) < 1 ? 1 - Math.Abs(x) : 0));
        Assert.Equal(16, w.Precision);
        Assert.Equal(new[] { 0, 1 }, w.Start);
        Assert.Equal(new[] { 3, 3 }, w.Count);
        Assert.Equal(new short[] { 28087, 28087, 9362 }, w.Values[..3]);
        Assert.Equal(new short[] { 9362, 28087, 28087 }, w.Values[w.KSize..(w.KSize + 3)]);
    }

    /// <summary>
    /// Against Pillow on a photograph-like picture: the same filter and bounds with coarser weights, so under 1% of the
    /// values differ (the fixtures' README: about 0.3–0.5% for DPT's sizes), by one step, or by two where the horizontal
    /// pass's one-step difference and the vertical pass's own add up.
    /// </summary>
    [Theory]
    [InlineData(518, 345)]
    [InlineData(384, 384)]
    [InlineData(900, 700)]
    public void DiffersFromPillowInFewValues(int width, int height)
    {
        var image = ImageFile.Load(Fixtures.Path("processors", "image0.png")).Image;
        var torch = TorchAntialiasResize.Resize(image, width, height, PilFilter.Bicubic).Pixels;
        var pillow = PillowResize.Resize(image, width, height, PilFilter.Bicubic).Pixels;
        var bySteps = new int[3];
        for (int i = 0; i < torch.Length; i++)
        {
            int d = Math.Abs(torch[i] - pillow[i]);
            Assert.True(d <= 2, $"value {i}: torchvision {torch[i]}, Pillow {pillow[i]}");
            bySteps[d]++;
        }
        double fraction = (double)(bySteps[1] + bySteps[2]) / torch.Length;
        output.WriteLine($"600x400 → {width}x{height}: {bySteps[1]} values one step and {bySteps[2]} two steps from Pillow's, "
            + $"{fraction:P2} of {torch.Length}");
        Assert.InRange(fraction, 1e-4, 0.01);
        Assert.True(bySteps[2] < bySteps[1] / 10, "two-step differences should be rare");
    }

    [Fact]
    public void SameSizeIsACopy()
    {
        var image = RandomImage(7, 5, 1);
        var resized = TorchAntialiasResize.Resize(image, 7, 5, PilFilter.Bicubic);
        Assert.NotSame(image.Pixels, resized.Pixels);
        Assert.Equal(image.Pixels, resized.Pixels);
    }

    [Theory]
    [InlineData(PilFilter.Lanczos)]
    [InlineData(PilFilter.Box)]
    [InlineData(PilFilter.Hamming)]
    [InlineData(PilFilter.Nearest)]
    public void FiltersTorchvisionLacksAreRefused(PilFilter filter) =>
        Assert.Throws<ArgumentException>(() => TorchAntialiasResize.Resize(RandomImage(4, 4, 2), 2, 2, filter));
}
