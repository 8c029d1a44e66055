using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.IO;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Imaging;

/// <summary>The PNG cases of fixtures/images/cases.json, decoded against the reference decoder's pixels.</summary>
public sealed class PngFixtureTests(ITestOutputHelper output)
{
    private static JsonDocument Cases() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Images, "cases.json")));

    public static TheoryData<string, string> PngCases()
    {
        var data = new TheoryData<string, string>();
        using JsonDocument doc = Cases();
        foreach (JsonElement c in doc.RootElement.GetProperty("decode").EnumerateArray())
        {
            string expected = c.GetProperty("expected").GetString()!;
            if (c.GetProperty("kind").GetString() == "png" && expected.EndsWith(".png", StringComparison.Ordinal))
                data.Add(c.GetProperty("file").GetString()!, expected);
        }
        return data;
    }

    public static TheoryData<string> MustFailPngs()
    {
        var data = new TheoryData<string>();
        using JsonDocument doc = Cases();
        foreach (JsonElement f in doc.RootElement.GetProperty("must_fail_cleanly").EnumerateArray())
            if (f.GetString()!.EndsWith(".png", StringComparison.Ordinal))
                data.Add(f.GetString()!);
        return data;
    }

    [Fact]
    public void CasesListPngFiles()
    {
        // Guards against the theories silently running on nothing if cases.json changes shape.
        Assert.True(PngCases().Count >= 5);
        Assert.True(MustFailPngs().Count >= 3);
    }

    [Theory]
    [MemberData(nameof(PngCases))]
    public void DecodesToReferencePixels(string file, string expectedFile)
    {
        RgbImage actual = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, file)).ToRgb8();
        RgbImage expected = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, expectedFile)).ToRgb8();
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));

        int mismatches = 0, maxDiff = 0;
        for (int i = 0; i < expected.Pixels.Length; i++)
        {
            int d = Math.Abs(expected.Pixels[i] - actual.Pixels[i]);
            maxDiff = Math.Max(maxDiff, d);
            if (d > 1)
                mismatches++;
        }
        output.WriteLine($"{file}: {actual.Width}x{actual.Height}, {mismatches} channel values off by more than 1, max diff {maxDiff}");
        Assert.Equal(0, mismatches);
    }

    [Theory]
    [InlineData("png_rgb8.png", 3, 8)]
    [InlineData("png_rgba8.png", 4, 8)]
    [InlineData("png_gray8.png", 1, 8)]
    [InlineData("png_palette.png", 3, 8)]
    [InlineData("png_interlaced.png", 3, 8)]
    [InlineData("png_gray16.png", 1, 16)]
    public void ReportsSourceLayout(string file, int channels, int bitDepth)
    {
        PngImage img = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, file));
        Assert.Equal(channels, img.Channels);
        Assert.Equal(bitDepth, img.BitDepth);
        Assert.Equal(img.Width * img.Height * channels, bitDepth == 8 ? img.Samples8!.Length : img.Samples16!.Length);
    }

    [Fact]
    public void Gray16MatchesReferenceSamples()
    {
        PngImage img = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, "png_gray16.png"));
        NpyArray expected = Npy.Read(Path.Combine(Fixtures.Images, "png_gray16.expected.npy"));
        Assert.Equal([img.Height, img.Width], expected.Shape);
        ushort[] want = expected.UInt16!;
        ushort[] got = img.Samples16!;
        int mismatches = 0;
        for (int i = 0; i < want.Length; i++)
            if (Math.Abs(want[i] - got[i]) > 1)
                mismatches++;
        output.WriteLine($"png_gray16: {mismatches} of {want.Length} samples off by more than 1");
        Assert.Equal(0, mismatches);

        // As 8-bit RGB each sample is value >> 8 (cases.json's note).
        RgbImage rgb = img.ToRgb8();
        for (int i = 0; i < want.Length; i++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(want[i] >> 8, rgb.Pixels[i * 3 + c]);
    }

    [Theory]
    [MemberData(nameof(MustFailPngs))]
    public void BrokenFilesAreRefusedNamingTheFile(string file)
    {
        string path = Path.Combine(Fixtures.Images, file);
        var e = Assert.Throws<ImageFormatException>(() => PngDecoder.DecodeFile(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void BrokenFilesSayWhatIsWrong()
    {
        string Message(string f) => Assert.Throws<ImageFormatException>(() => PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, f))).Message;
        Assert.Contains("CRC", Message("bad_crc.png"), StringComparison.Ordinal);
        // Its IHDR CRC was not updated for the new size, so the CRC check is what stops it.
        Assert.Contains("IHDR", Message("bad_huge_dimensions.png"), StringComparison.Ordinal);
        Assert.Contains("not a PNG", Message("bad_not_an_image.png"), StringComparison.Ordinal);
    }
}
