using System.Buffers.Binary;
using DepthSharp.Imaging;
using static DepthSharp.Tests.Imaging.PngBuilder;

namespace DepthSharp.Tests.Imaging;

/// <summary>Hand-built PNGs for the layouts the fixtures do not cover, and for malformed structure.</summary>
public sealed class PngDecoderTests
{
    /// <summary>Unfiltered scanlines (filter byte 0) from packed rows.</summary>
    private static byte[] Scanlines(params byte[][] rows) => rows.SelectMany(r => new byte[] { 0 }.Concat(r)).ToArray();

    [Fact]
    public void OneBitGrayBecomesBlackAndWhite()
    {
        // 10 pixels: 1011001110 packed MSB first, padded.
        byte[] png = File(Ihdr(10, 1, 1, 0), Scanlines([0b1011_0011, 0b1000_0000]));
        PngImage img = PngDecoder.Decode(png);
        Assert.Equal((1, 8), (img.Channels, img.BitDepth));
        Assert.Equal(new byte[] { 255, 0, 255, 255, 0, 0, 255, 255, 255, 0 }, img.Samples8);
    }

    [Fact]
    public void TwoAndFourBitGrayScaleUpByReplication()
    {
        byte[] two = File(Ihdr(4, 1, 2, 0), Scanlines([0b00_01_10_11]));
        Assert.Equal(new byte[] { 0, 85, 170, 255 }, PngDecoder.Decode(two).Samples8);
        byte[] four = File(Ihdr(3, 1, 4, 0), Scanlines([0x0F, 0x70]));
        Assert.Equal(new byte[] { 0, 255, 119 }, PngDecoder.Decode(four).Samples8);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void PaletteWithTransparencyExpandsToRgba(int bitDepth)
    {
        byte[] plte = [10, 20, 30, 40, 50, 60];
        byte[] trns = [0];   // entry 0 transparent, entry 1 opaque by default
        // Pixels: index 1, 0, 1.
        int[] idx = [1, 0, 1];
        var row = new byte[(3 * bitDepth + 7) / 8];
        for (int i = 0; i < 3; i++)
        {
            int bit = i * bitDepth;
            row[bit / 8] |= (byte)(idx[i] << (8 - bitDepth - bit % 8));
        }
        byte[] png = File(Ihdr(3, 1, bitDepth, 3), Scanlines(row), ("PLTE", plte), ("tRNS", trns));
        PngImage img = PngDecoder.Decode(png);
        Assert.Equal((4, 8), (img.Channels, img.BitDepth));
        Assert.Equal(new byte[] { 40, 50, 60, 255, 10, 20, 30, 0, 40, 50, 60, 255 }, img.Samples8);
        Assert.Equal(new byte[] { 40, 50, 60, 10, 20, 30, 40, 50, 60 }, img.ToRgb8().Pixels);
    }

    [Fact]
    public void PaletteWithoutTransparencyIsRgbAndOutOfRangeIndexIsBlack()
    {
        byte[] png = File(Ihdr(2, 1, 8, 3), Scanlines([0, 7]), ("PLTE", [1, 2, 3]));
        PngImage img = PngDecoder.Decode(png);
        Assert.Equal(3, img.Channels);
        Assert.Equal(new byte[] { 1, 2, 3, 0, 0, 0 }, img.Samples8);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 2)]
    [InlineData(2, 3)]
    [InlineData(6, 4)]
    public void SixteenBitSamplesAreBigEndianAndKeepHighByteAsRgb(int colorType, int channels)
    {
        // Two pixels with distinct samples 0x1234 + k*0x1111.
        var row = new byte[2 * channels * 2];
        var want = new ushort[2 * channels];
        for (int k = 0; k < want.Length; k++)
        {
            want[k] = (ushort)(0x1234 + k * 0x1111);
            BinaryPrimitives.WriteUInt16BigEndian(row.AsSpan(k * 2), want[k]);
        }
        PngImage img = PngDecoder.Decode(File(Ihdr(2, 1, 16, colorType), Scanlines(row)));
        Assert.Equal((channels, 16), (img.Channels, img.BitDepth));
        Assert.Equal(want, img.Samples16);
        byte[] rgb = img.ToRgb8().Pixels;
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < 3; c++)
                Assert.Equal(want[p * channels + (channels <= 2 ? 0 : c)] >> 8, rgb[p * 3 + c]);
    }

    [Theory]
    [InlineData(1, 8)]   // gray, 1 byte per pixel
    [InlineData(3, 8)]   // RGB
    [InlineData(4, 16)]  // RGBA 16-bit: 8 bytes per pixel
    [InlineData(1, 4)]   // packed gray: filters work on whole bytes
    public void EveryFilterTypeReconstructsTheSameRows(int channels, int bitDepth)
    {
        int colorType = channels switch { 1 => 0, 3 => 2, _ => 6 };
        const int w = 7, h = 5;
        int rowBytes = (w * channels * bitDepth + 7) / 8;
        int bpp = Math.Max(1, channels * bitDepth / 8);
        var rng = new Random(17);
        byte[][] rows = Enumerable.Range(0, h).Select(_ => { var r = new byte[rowBytes]; rng.NextBytes(r); return r; }).ToArray();
        if (bitDepth == 4)
            rows[^1][^1] &= 0xF0;   // keep padding bits clean so every variant is the same picture
        PngImage reference = PngDecoder.Decode(File(Ihdr(w, h, bitDepth, colorType), Scanlines(rows)));
        for (int filter = 0; filter <= 4; filter++)
        {
            // Mix: row y uses (filter + y) % 5, so each type sees a first row and a later row.
            var lines = new List<byte>();
            for (int y = 0; y < h; y++)
                lines.AddRange(FilterRow((filter + y) % 5, rows[y], y == 0 ? null : rows[y - 1], bpp));
            PngImage img = PngDecoder.Decode(File(Ihdr(w, h, bitDepth, colorType), lines.ToArray()));
            if (bitDepth == 16)
                Assert.Equal(reference.Samples16, img.Samples16);
            else
                Assert.Equal(reference.Samples8, img.Samples8);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(5, 1)]
    [InlineData(9, 9)]
    [InlineData(17, 4)]
    public void Adam7MatchesTheSamePictureNonInterlaced(int w, int h)
    {
        var rng = new Random(w * 100 + h);
        var pixels = new byte[w * h * 3];
        rng.NextBytes(pixels);
        PngImage flat = PngDecoder.Decode(File(Ihdr(w, h, 8, 2), Scanlines(Enumerable.Range(0, h).Select(y => pixels[(y * w * 3)..((y + 1) * w * 3)]).ToArray())));
        Assert.Equal(pixels, flat.Samples8);

        // Split into the seven passes (empty passes contribute nothing, not even filter bytes).
        int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        var lines = new List<byte>();
        for (int p = 0; p < 7; p++)
        {
            for (int y = y0[p]; y < h; y += dy[p])
            {
                var line = new List<byte>();
                for (int x = x0[p]; x < w; x += dx[p])
                    line.AddRange(pixels.AsSpan((y * w + x) * 3, 3).ToArray());
                if (line.Count > 0)
                {
                    lines.Add(0);
                    lines.AddRange(line);
                }
            }
        }
        PngImage laced = PngDecoder.Decode(File(Ihdr(w, h, 8, 2, interlace: 1), lines.ToArray()));
        Assert.Equal(pixels, laced.Samples8);
    }

    [Fact]
    public void ExifChunkIsKeptRaw()
    {
        byte[] tiff = [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 0, 0];
        PngImage img = PngDecoder.Decode(File(Ihdr(1, 1, 8, 0), Scanlines([7]), ("eXIf", tiff)));
        Assert.Equal(tiff, img.ExifPayload);
        Assert.Null(PngDecoder.Decode(File(Ihdr(1, 1, 8, 0), Scanlines([7]))).ExifPayload);
    }

    [Fact]
    public void ExtraCompressedDataIsIgnored()
    {
        PngImage img = PngDecoder.Decode(File(Ihdr(2, 1, 8, 0), [0, 1, 2, 0, 9, 9, 9]));
        Assert.Equal(new byte[] { 1, 2 }, img.Samples8);
    }

    public static TheoryData<string, byte[]> MalformedFiles()
    {
        byte[] ok = Scanlines([1, 2]);
        byte[] idat = Zlib(ok);
        var d = new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "signature", Signature[..6] },
            { "IEND", File(Ihdr(2, 1, 8, 0), ok)[..^12] },
            { "IHDR", Assemble([("IDAT", idat), ("IEND", [])]) },
            { "dimensions", File(Ihdr(0, 1, 8, 0), ok) },
            { "bit depth", File(Ihdr(2, 1, 3, 0), ok) },
            { "bit depth", File(Ihdr(2, 1, 16, 3), ok) },
            { "colour type", File(Ihdr(2, 1, 8, 5), ok) },
            { "interlace", File(Ihdr(2, 1, 8, 0, interlace: 2), ok) },
            { "no PLTE", File(Ihdr(2, 1, 8, 3), ok) },
            { "PLTE", File(Ihdr(2, 1, 8, 3), ok, ("PLTE", [1, 2])) },
            { "PLTE", File(Ihdr(2, 1, 8, 0), ok, ("PLTE", [1, 2, 3])) },
            { "tRNS", File(Ihdr(2, 1, 8, 3), ok, ("PLTE", [1, 2, 3]), ("tRNS", [1, 2])) },
            { "filter type", File(Ihdr(2, 1, 8, 0), [5, 1, 2]) },
            { "truncated image data", File(Ihdr(2, 2, 8, 0), ok) },
            { "compressed", Assemble([("IHDR", Ihdr(2, 1, 8, 0)), ("IDAT", [0x78, 0x9C, 0xFF, 0xFF, 0xFF]), ("IEND", [])]) },
            { "critical", File(Ihdr(2, 1, 8, 0), ok, ("ABCD", [])) },
            { "no image data", Assemble([("IHDR", Ihdr(2, 1, 8, 0)), ("IEND", [])]) },
            { "not consecutive", Assemble([("IHDR", Ihdr(2, 1, 8, 0)), ("IDAT", idat[..3]), ("tEXt", [65]), ("IDAT", idat[3..]), ("IEND", [])]) },
            { "more than one IHDR", Assemble([("IHDR", Ihdr(2, 1, 8, 0)), ("IHDR", Ihdr(2, 1, 8, 0)), ("IDAT", idat), ("IEND", [])]) },
            { "length", Assemble([("IHDR", Ihdr(2, 1, 8, 0)[..12]), ("IDAT", idat), ("IEND", [])]) },
        };
        byte[] badCrc = File(Ihdr(2, 1, 8, 0), ok);
        badCrc[^13] ^= 1;   // last byte of IDAT's CRC
        d.Add("CRC", badCrc);
        byte[] hugeLength = File(Ihdr(2, 1, 8, 0), ok);
        BinaryPrimitives.WriteUInt32BigEndian(hugeLength.AsSpan(33), 0xFFFFFFF0);
        d.Add("length", hugeLength);
        return d;
    }

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void MalformedStructureIsRefusedWithItsProblem(string problem, byte[] png)
    {
        var e = Assert.Throws<ImageFormatException>(() => PngDecoder.Decode(png, "x.png"));
        Assert.StartsWith("x.png: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TooManyPixelsIsRefusedBeforeDecoding()
    {
        byte[] png = File(Ihdr(1000, 1000, 8, 2), Scanlines([1, 2, 3]));
        var e = Assert.Throws<ImageFormatException>(() => PngDecoder.Decode(png, "big.png", new ImageDecodeOptions { MaxPixels = 999_999 }));
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SmallFileClaimingHugePictureFailsWithoutAllocatingIt()
    {
        // 10000 x 10000 RGBA16 is within MaxPixels but would need 800 MB; the data holds a few bytes.
        byte[] png = File(Ihdr(10_000, 10_000, 16, 6), Scanlines([1, 2, 3]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ImageFormatException>(() => PngDecoder.Decode(png));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20);
    }
}
