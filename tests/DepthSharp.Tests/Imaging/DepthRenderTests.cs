using System.Buffers.Binary;
using System.Text;
using DepthSharp.Imaging;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Imaging;

public sealed class DepthRenderTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-render-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // First, middle (index 128) and last colours and the CRC-32 of all 768 bytes, from matplotlib 3.6.3's
    // colormaps[name](np.arange(256), bytes=True)[:, :3]. viridis's ends are its published #440154 and #FDE725.
    [Theory]
    [InlineData(Colormap.Viridis, 0x440154, 0x20908C, 0xFDE724, 0x89b85291u)]
    [InlineData(Colormap.Inferno, 0x000003, 0xBB3754, 0xFCFEA4, 0x01c06a82u)]
    [InlineData(Colormap.Magma, 0x000003, 0xB63679, 0xFBFCBF, 0xef85dafau)]
    [InlineData(Colormap.Turbo, 0x30123B, 0xA4FC3B, 0x7A0402, 0x8e2531a0u)]
    [InlineData(Colormap.Gray, 0x000000, 0x808080, 0xFFFFFF, 0x48e9e279u)]
    public void LutsMatchMatplotlib(Colormap map, int first, int middle, int last, uint crc)
    {
        byte[] lut = DepthRender.Lut(map).ToArray();
        Assert.Equal(768, lut.Length);
        int Rgb(int i) => (lut[i * 3] << 16) | (lut[i * 3 + 1] << 8) | lut[i * 3 + 2];
        Assert.Equal(first.ToString("X6"), Rgb(0).ToString("X6"));
        Assert.Equal(middle.ToString("X6"), Rgb(128).ToString("X6"));
        Assert.Equal(last.ToString("X6"), Rgb(255).ToString("X6"));
        Assert.Equal(crc, PngBuilder.Crc(lut));
    }

    [Fact]
    public void ViridisEndsAreThePublishedColours()
    {
        // The published hex codes of viridis are rounded (#FDE725); matplotlib's bytes truncate 36.2 to 36 (0x24).
        ReadOnlySpan<byte> lut = DepthRender.Lut(Colormap.Viridis);
        Assert.Equal(new byte[] { 0x44, 0x01, 0x54 }, lut[..3].ToArray());
        Assert.Equal(new byte[] { 0xFD, 0xE7 }, lut[765..767].ToArray());
        Assert.InRange(lut[767], 0x24, 0x25);
    }

    [Fact]
    public void ColorizeRampPicksEachEntryInTurn()
    {
        float[] ramp = Enumerable.Range(0, 256).Select(i => 5f + 0.5f * i).ToArray();
        RgbImage img = DepthRender.Colorize(ramp, 256, 1, Colormap.Turbo, inverse: false);
        Assert.Equal(DepthRender.Lut(Colormap.Turbo).ToArray(), img.Pixels);
    }

    [Fact]
    public void InverseColoursNearAsTheTopOfTheMap()
    {
        float[] depth = [1f, 2f, 4f, 1000f];
        RgbImage img = DepthRender.Colorize(depth, 2, 2, Colormap.Viridis, inverse: true);
        ReadOnlySpan<byte> lut = DepthRender.Lut(Colormap.Viridis);
        Assert.Equal(lut[765..768].ToArray(), img.Pixels[..3]);     // nearest: largest 1/d
        Assert.Equal(lut[..3].ToArray(), img.Pixels[9..12]);        // farthest
        // 1/2 is (0.5 - 0.001) / (1 - 0.001) of the way: index (int)(t * 256) = 127.
        Assert.Equal(lut[(127 * 3)..(128 * 3)].ToArray(), img.Pixels[3..6]);
    }

    [Fact]
    public void ConstantAndNonFiniteValues()
    {
        RgbImage flat = DepthRender.Colorize([3f, 3f], 2, 1, Colormap.Magma, inverse: false);
        Assert.Equal([.. DepthRender.Lut(Colormap.Magma)[..3], .. DepthRender.Lut(Colormap.Magma)[..3]], flat.Pixels);
        RgbImage holes = DepthRender.Colorize([float.NaN, 1f, 2f, 0f], 4, 1, Colormap.Gray, inverse: true);
        Assert.Equal(new byte[] { 0, 0, 0, 255, 255, 255, 0, 0, 0, 0, 0, 0 }, holes.Pixels);
        Assert.Throws<ArgumentException>(() => DepthRender.Colorize([1f], 2, 1, Colormap.Gray, false));
    }

    [Fact]
    public void PipelineGray8OnAnExactRamp()
    {
        // d = 2 + i/64 for i = 0..1024: every step is exact in float32, so uint8(255 * i / 1024) is the answer,
        // and 255 * i / 1024 is never a whole number strictly inside the range (gcd(255, 1024) = 1).
        const int n = 1024;
        float[] d = Enumerable.Range(0, n + 1).Select(i => 2f + i / 64f).ToArray();
        byte[] g = DepthRender.PipelineGray8(d);
        for (int i = 0; i <= n; i++)
            Assert.Equal((byte)(255 * i / n), g[i]);
        Assert.Equal(new byte[4], DepthRender.PipelineGray8([7f, 7f, 7f, 7f]));
        Assert.Equal(new byte[] { 0, 0, 255 }, DepthRender.PipelineGray8([float.NaN, 1f, 3f]));
    }

    [Fact]
    public void PipelineGray8MatchesTheReferencePipeline()
    {
        int compared = 0;
        foreach (string model in Directory.GetDirectories(Path.Combine(Fixtures.Root, "models")).Order(StringComparer.Ordinal))
        {
            var t = new ExpectedTensors(Path.Combine(model, "expected.safetensors"));
            for (int i = 0; t.Has($"pipeline.{i}.depth_u8"); i++)
            {
                byte[] want = t.U8($"pipeline.{i}.depth_u8");
                byte[] got = DepthRender.PipelineGray8(t.F32($"post.{i}.predicted_depth"));
                Assert.Equal(want.Length, got.Length);
                int offByOne = 0, worse = 0;
                for (int k = 0; k < want.Length; k++)
                {
                    int diff = Math.Abs(want[k] - got[k]);
                    if (diff == 1) offByOne++;
                    else if (diff > 1) worse++;
                }
                output.WriteLine($"{Path.GetFileName(model)} image {i}: {offByOne} off by one, {worse} worse, of {want.Length}");
                Assert.Equal(0, worse);
                Assert.True(offByOne <= want.Length * 0.005);
                compared++;
            }
        }
        Assert.True(compared >= 5, $"only {compared} pipeline references found");
    }

    [Fact]
    public void PfmHeaderAndBottomUpRows()
    {
        float[] v = [1f, 2f, 3f, 4f, 5f, 6f];   // 3 wide, 2 high
        string path = Path.Combine(_dir, "d.pfm");
        DepthRender.WritePfm(path, v, 3, 2);
        byte[] pfm = File.ReadAllBytes(path);
        byte[] header = Encoding.ASCII.GetBytes("Pf\n3 2\n-1.0\n");
        Assert.Equal(header, pfm[..header.Length]);
        Assert.Equal(header.Length + 24, pfm.Length);
        float[] body = Enumerable.Range(0, 6).Select(i => BinaryPrimitives.ReadSingleLittleEndian(pfm.AsSpan(header.Length + i * 4))).ToArray();
        Assert.Equal(new float[] { 4f, 5f, 6f, 1f, 2f, 3f }, body);
    }

    [Fact]
    public void MetricDepthPngHoldsRoundedMillimetres()
    {
        float[] metres = [0.25f, 1.0006f, 2.0004f, 65.535f, 100f, -3f, float.NaN, float.PositiveInfinity];
        string path = Path.Combine(_dir, "metric.png");
        PngEncoder.WriteGray16(path, DepthRender.MetricMillimetres16(metres), 4, 2);
        PngImage png = PngDecoder.DecodeFile(path);
        Assert.Equal((4, 2, 1, 16), (png.Width, png.Height, png.Channels, png.BitDepth));
        Assert.Equal(new ushort[] { 250, 1001, 2000, 65535, 65535, 0, 0, 0 }, png.Samples16);
    }

    [Fact]
    public void RelativeDepthPngStretchesOverSixteenBits()
    {
        string path = Path.Combine(_dir, "rel.png");
        PngEncoder.WriteGray16(path, DepthRender.Relative16([1f, 2f, 3f, 1.25f]), 2, 2);
        Assert.Equal(new ushort[] { 0, 32768, 65535, 8192 }, PngDecoder.DecodeFile(path).Samples16);
        Assert.Equal(new ushort[2], DepthRender.Relative16([4f, 4f]));
    }

    [Fact]
    public void SideBySideKeepsThePhotoHeight()
    {
        var photo = new RgbImage(2, 2, Enumerable.Range(0, 12).Select(i => (byte)i).ToArray());
        var same = new RgbImage(1, 2, [100, 101, 102, 103, 104, 105]);
        RgbImage s = DepthRender.SideBySide(photo, same);
        Assert.Equal((3, 2), (s.Width, s.Height));
        Assert.Equal(new byte[] { 0, 1, 2, 3, 4, 5, 100, 101, 102, 6, 7, 8, 9, 10, 11, 103, 104, 105 }, s.Pixels);

        // A 2x4 depth picture beside a 2-high photo is shown 1x2, nearest neighbour.
        var tall = new RgbImage(2, 4, Enumerable.Range(0, 24).Select(i => (byte)(200 + i)).ToArray());
        RgbImage t = DepthRender.SideBySide(photo, tall);
        Assert.Equal((3, 2), (t.Width, t.Height));
        Assert.Equal(new byte[] { 200, 201, 202 }, t.Pixels[6..9]);
        Assert.Equal(new byte[] { 212, 213, 214 }, t.Pixels[15..18]);
    }
}
