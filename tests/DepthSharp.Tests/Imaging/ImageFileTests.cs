using System.Text.Json;
using DepthSharp.Imaging;

namespace DepthSharp.Tests.Imaging;

/// <summary>Every fixture picture through the tool's loader: upright, expected pixels, EXIF focal length, clean refusals.</summary>
public class ImageFileTests
{
    private static JsonElement Cases => JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Images, "cases.json"))).RootElement;

    public static TheoryData<string> DecodeCases()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases.GetProperty("decode").EnumerateArray())
            if (c.GetProperty("expected").GetString()!.EndsWith(".png", StringComparison.Ordinal)) data.Add(c.GetProperty("file").GetString()!);
        return data;
    }

    public static TheoryData<string> FailCases()
    {
        var data = new TheoryData<string>();
        foreach (var f in Cases.GetProperty("must_fail_cleanly").EnumerateArray()) data.Add(f.GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(DecodeCases))]
    public void LoadsUprightWithExpectedPixels(string file)
    {
        var c = Cases.GetProperty("decode").EnumerateArray().First(e => e.GetProperty("file").GetString() == file);
        var loaded = ImageFile.Load(Path.Combine(Fixtures.Images, file));
        var expected = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, c.GetProperty("expected").GetString()!)).ToRgb8();
        Assert.Equal((expected.Width, expected.Height), (loaded.Image.Width, loaded.Image.Height));
        int off = 0;
        for (int i = 0; i < expected.Pixels.Length; i++)
        {
            int d = Math.Abs(expected.Pixels[i] - loaded.Image.Pixels[i]);
            Assert.True(d <= 1, $"{file}: channel {i} is {loaded.Image.Pixels[i]}, expected {expected.Pixels[i]}");
            off += d;
        }
        Assert.Equal(0, off);
        if (c.TryGetProperty("focal_length_px", out var fpx))
            Assert.Equal(fpx.GetDouble(), loaded.ExifFocalLengthPixels!.Value, 6);
    }

    [Theory]
    [MemberData(nameof(FailCases))]
    public void BrokenFilesAreRefusedByName(string file)
    {
        var e = Assert.Throws<ImageFormatException>(() => ImageFile.Load(Path.Combine(Fixtures.Images, file)));
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void OrientationCanBeLeftAsStored()
    {
        var stored = ImageFile.Load(Path.Combine(Fixtures.Images, "exif_orientation_6.jpg"), new ImageDecodeOptions { ApplyExifOrientation = false });
        var upright = ImageFile.Load(Path.Combine(Fixtures.Images, "exif_orientation_6.jpg"));
        Assert.Equal((stored.Image.Width, stored.Image.Height), (upright.Image.Height, upright.Image.Width));
        Assert.Equal(6, upright.Exif!.Orientation);
    }
}
