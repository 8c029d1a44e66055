using System.Diagnostics;
using DepthSharp.Imaging;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Imaging;

public sealed class PngEncoderTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-png-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Smooth gradients plus noise, so adaptive filtering has a reason to pick every filter type.</summary>
    private static int Sample(int x, int y, int c, int seed, int max) =>
        (int)((x * 37L + y * 11L * (c + 1) + (((x * 7 + y * 13 + c + seed) * 2654435761L) >> 20 & 31)) % (max + 1));

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(129, 97)]
    public void Rgb8RoundTrips(int w, int h)
    {
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    px[(y * w + x) * 3 + c] = (byte)Sample(x, y, c, 1, 255);
        PngImage back = PngDecoder.Decode(PngEncoder.EncodeRgb8(new RgbImage(w, h, px)));
        Assert.Equal((w, h, 3, 8), (back.Width, back.Height, back.Channels, back.BitDepth));
        Assert.Equal(px, back.Samples8);
    }

    [Fact]
    public void Gray8RoundTrips()
    {
        const int w = 50, h = 31;
        byte[] g = Enumerable.Range(0, w * h).Select(i => (byte)Sample(i % w, i / w, 0, 2, 255)).ToArray();
        PngImage back = PngDecoder.Decode(PngEncoder.EncodeGray8(g, w, h));
        Assert.Equal((1, 8), (back.Channels, back.BitDepth));
        Assert.Equal(g, back.Samples8);
    }

    [Fact]
    public void Gray16RoundTripsIncludingExtremes()
    {
        const int w = 41, h = 23;
        ushort[] g = Enumerable.Range(0, w * h).Select(i => (ushort)Sample(i % w, i / w, 0, 3, 65535)).ToArray();
        g[0] = 0;
        g[1] = 65535;
        g[2] = 0x00FF;
        g[3] = 0xFF00;
        PngImage back = PngDecoder.Decode(PngEncoder.EncodeGray16(g, w, h));
        Assert.Equal((1, 16), (back.Channels, back.BitDepth));
        Assert.Equal(g, back.Samples16);
    }

    [Fact]
    public void Rgb16RoundTrips()
    {
        const int w = 17, h = 9;
        ushort[] s = Enumerable.Range(0, w * h * 3).Select(i => (ushort)Sample(i / 3 % w, i / 3 / w, i % 3, 4, 65535)).ToArray();
        PngImage back = PngDecoder.Decode(PngEncoder.EncodeRgb16(s, w, h));
        Assert.Equal((3, 16), (back.Channels, back.BitDepth));
        Assert.Equal(s, back.Samples16);
    }

    [Fact]
    public void WrongSampleCountIsAnArgumentError()
    {
        Assert.Throws<ArgumentException>(() => PngEncoder.EncodeGray8(new byte[5], 2, 2));
        Assert.Throws<ArgumentException>(() => PngEncoder.EncodeRgb16(new ushort[4], 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngEncoder.EncodeGray16([], 0, 1));
    }

    [Fact]
    public void WritersProduceFilesThatDecode()
    {
        string path = Path.Combine(_dir, "g16.png");
        PngEncoder.WriteGray16(path, [1, 2, 3, 65535], 2, 2);
        Assert.Equal(new ushort[] { 1, 2, 3, 65535 }, PngDecoder.DecodeFile(path).Samples16);
        Assert.Single(Directory.GetFiles(_dir));   // no temp file left behind
    }

    [Fact]
    public void PngcheckAcceptsWrittenFiles()
    {
        // CI installs pngcheck (apt-get install -y pngcheck); without it this check cannot be made, so it fails rather than skips.
        string? pngcheck = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "pngcheck"))
            .FirstOrDefault(System.IO.File.Exists);
        Assert.True(pngcheck is not null, "pngcheck is not installed (apt-get install -y pngcheck)");

        const int w = 129, h = 97;
        var rgb = new byte[w * h * 3];
        new Random(5).NextBytes(rgb);
        ushort[] g16 = Enumerable.Range(0, w * h).Select(i => (ushort)(i * 5)).ToArray();
        ushort[] rgb16 = Enumerable.Range(0, w * h * 3).Select(i => (ushort)(i * 3)).ToArray();
        byte[] g8 = Enumerable.Range(0, w * h).Select(i => (byte)i).ToArray();
        var files = new Dictionary<string, Action<string>>
        {
            ["rgb8.png"] = p => PngEncoder.WriteRgb8(p, new RgbImage(w, h, rgb)),
            ["gray8.png"] = p => PngEncoder.WriteGray8(p, g8, w, h),
            ["gray16.png"] = p => PngEncoder.WriteGray16(p, g16, w, h),
            ["rgb16.png"] = p => PngEncoder.WriteRgb16(p, rgb16, w, h),
        };
        foreach ((string name, Action<string> write) in files)
        {
            string path = Path.Combine(_dir, name);
            write(path);
            var psi = new ProcessStartInfo(pngcheck!) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-v");
            psi.ArgumentList.Add(path);
            using Process p = Process.Start(psi)!;
            string stdout = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            output.WriteLine(stdout);
            Assert.True(p.ExitCode == 0, $"pngcheck rejected {name}: {stdout}");
            Assert.Contains("No errors detected", stdout, StringComparison.Ordinal);
        }
    }
}
