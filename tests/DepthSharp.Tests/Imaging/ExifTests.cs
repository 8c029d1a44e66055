using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DepthSharp.Imaging;

namespace DepthSharp.Tests.Imaging;

public sealed class ExifTests
{
    /// <summary>One IFD entry to write: tag, TIFF type, count, and the raw value bytes (in the file's byte order).</summary>
    private sealed record Tag(ushort Id, ushort Type, uint Count, byte[] Value);

    /// <summary>
    /// Writes a TIFF block: header, IFD0, then an optional Exif IFD, each followed by its out-of-line values.
    /// The Exif IFD pointer (0x8769) is added to IFD0 automatically when exif tags are given.
    /// </summary>
    private static byte[] Tiff(bool little, Tag[] ifd0, Tag[]? exif = null)
    {
        var buf = new List<byte>();
        void U16(ushort v) { var b = new byte[2]; if (little) BinaryPrimitives.WriteUInt16LittleEndian(b, v); else BinaryPrimitives.WriteUInt16BigEndian(b, v); buf.AddRange(b); }
        void U32(uint v) { var b = new byte[4]; if (little) BinaryPrimitives.WriteUInt32LittleEndian(b, v); else BinaryPrimitives.WriteUInt32BigEndian(b, v); buf.AddRange(b); }
        void Patch32(int at, uint v) { var b = new byte[4]; if (little) BinaryPrimitives.WriteUInt32LittleEndian(b, v); else BinaryPrimitives.WriteUInt32BigEndian(b, v); for (int i = 0; i < 4; i++) buf[at + i] = b[i]; }

        void WriteIfd(Tag[] tags)
        {
            U16((ushort)tags.Length);
            var pending = new List<(int Slot, byte[] Value)>();
            foreach (Tag t in tags)
            {
                U16(t.Id); U16(t.Type); U32(t.Count);
                if (t.Value.Length <= 4)
                    buf.AddRange(t.Value.Concat(new byte[4 - t.Value.Length]));
                else
                {
                    pending.Add((buf.Count, t.Value));
                    U32(0);
                }
            }
            U32(0);   // no next IFD
            foreach ((int slot, byte[] value) in pending)
            {
                Patch32(slot, (uint)buf.Count);
                buf.AddRange(value);
            }
        }

        buf.AddRange(little ? "II*\0"u8.ToArray() : "MM\0*"u8.ToArray());
        U32(8);
        Tag[] first = exif is null ? ifd0 : [.. ifd0, new Tag(0x8769, 4, 1, new byte[4])];
        WriteIfd(first);
        if (exif is not null)
        {
            // The pointer entry is IFD0's last: its value sits at 8 + 2 + 12 * (n - 1) + 8.
            int slot = 8 + 2 + 12 * (first.Length - 1) + 8;
            Patch32(slot, (uint)buf.Count);
            WriteIfd(exif);
        }
        return buf.ToArray();
    }

    private static byte[] Short(bool little, ushort v)
    {
        var b = new byte[2];
        if (little) BinaryPrimitives.WriteUInt16LittleEndian(b, v); else BinaryPrimitives.WriteUInt16BigEndian(b, v);
        return b;
    }

    private static byte[] Long(bool little, uint v)
    {
        var b = new byte[4];
        if (little) BinaryPrimitives.WriteUInt32LittleEndian(b, v); else BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Rational(bool little, uint num, uint den) => [.. Long(little, num), .. Long(little, den)];

    private static Tag Ascii(ushort id, string s) => new(id, 2, (uint)s.Length + 1, [.. Encoding.ASCII.GetBytes(s), 0]);

    private static byte[] FullBlock(bool little, ushort orientation = 6) => Tiff(little,
        [Ascii(0x010F, "Acme"), Ascii(0x0110, "Phone 12 Pro"), new Tag(0x0112, 3, 1, Short(little, orientation))],
        [
            new Tag(0x920A, 5, 1, Rational(little, 42, 10)),
            new Tag(0xA405, 3, 1, Short(little, 26)),
            new Tag(0xA20E, 5, 1, Rational(little, 15875, 1)),
            new Tag(0xA20F, 5, 1, Rational(little, 31750, 2)),
            new Tag(0xA210, 3, 1, Short(little, 2)),
            new Tag(0xA002, 4, 1, Long(little, 4000)),
            new Tag(0xA003, 3, 1, Short(little, 3000)),
        ]);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadsEveryFieldInBothByteOrders(bool little)
    {
        ExifData e = Exif.Parse(FullBlock(little), "a.jpg")!;
        Assert.Equal(6, e.Orientation);
        Assert.Equal("Acme", e.Make);
        Assert.Equal("Phone 12 Pro", e.Model);
        Assert.Equal(4.2, e.FocalLengthMm!.Value, 12);
        Assert.Equal(26, e.FocalLength35mm);
        Assert.Equal(15875.0, e.FocalPlaneXResolution);
        Assert.Equal(15875.0, e.FocalPlaneYResolution);
        Assert.Equal(2, e.FocalPlaneResolutionUnit);
        Assert.Equal(4000, e.PixelXDimension);
        Assert.Equal(3000, e.PixelYDimension);
        Assert.Empty(e.Problems);
        Assert.Equal(26.0, e.FocalLength35mmEquivalent());
    }

    [Theory]
    [InlineData(true, 1)] [InlineData(true, 2)] [InlineData(true, 3)] [InlineData(true, 4)]
    [InlineData(true, 5)] [InlineData(true, 6)] [InlineData(true, 7)] [InlineData(true, 8)]
    [InlineData(false, 1)] [InlineData(false, 2)] [InlineData(false, 3)] [InlineData(false, 4)]
    [InlineData(false, 5)] [InlineData(false, 6)] [InlineData(false, 7)] [InlineData(false, 8)]
    public void ReadsEachOrientation(bool little, int orientation)
    {
        byte[] tiff = Tiff(little, [new Tag(0x0112, 3, 1, Short(little, (ushort)orientation))]);
        Assert.Equal(orientation, Exif.Parse(tiff, null)!.Orientation);
    }

    [Fact]
    public void CropFactorComesFromTheFocalPlaneWhen35mmIsMissing()
    {
        // 4000 x 3000 pixels at 15875 px/inch is a 6.4 x 4.8 mm sensor: diagonal 8 mm.
        bool little = true;
        byte[] tiff = Tiff(little, [], [
            new Tag(0x920A, 5, 1, Rational(little, 4, 1)),
            new Tag(0xA20E, 5, 1, Rational(little, 15875, 1)),
            new Tag(0xA20F, 5, 1, Rational(little, 15875, 1)),
            new Tag(0xA002, 3, 1, Short(little, 4000)),
            new Tag(0xA003, 3, 1, Short(little, 3000)),
        ]);
        ExifData e = Exif.Parse(tiff, null)!;
        Assert.Null(e.FocalLength35mm);
        Assert.Null(e.FocalPlaneResolutionUnit);   // absent: inch by EXIF's default
        Assert.Equal(4.0 * Math.Sqrt(36 * 36 + 24 * 24) / 8.0, e.FocalLength35mmEquivalent()!.Value, 9);

        // Same sensor in centimetres: 6250 px/cm.
        byte[] cm = Tiff(little, [], [
            new Tag(0x920A, 5, 1, Rational(little, 4, 1)),
            new Tag(0xA20E, 5, 1, Rational(little, 6250, 1)),
            new Tag(0xA20F, 5, 1, Rational(little, 6250, 1)),
            new Tag(0xA210, 3, 1, Short(little, 3)),
            new Tag(0xA002, 3, 1, Short(little, 4000)),
            new Tag(0xA003, 3, 1, Short(little, 3000)),
        ]);
        Assert.Equal(4.0 * Math.Sqrt(36 * 36 + 24 * 24) / 8.0, Exif.Parse(cm, null)!.FocalLength35mmEquivalent()!.Value, 9);

        // Without the pixel dimensions the crop factor is unknown.
        byte[] partial = Tiff(little, [], [new Tag(0x920A, 5, 1, Rational(little, 4, 1))]);
        Assert.Null(Exif.Parse(partial, null)!.FocalLength35mmEquivalent());
    }

    [Fact]
    public void ZeroFocalLengthIn35mmMeansUnknown()
    {
        byte[] tiff = Tiff(false, [], [new Tag(0xA405, 3, 1, Short(false, 0))]);
        ExifData e = Exif.Parse(tiff, null)!;
        Assert.Null(e.FocalLength35mm);
        Assert.Null(e.FocalLength35mmEquivalent());
    }

    [Fact]
    public void NonTiffIsNullAndExifPrefixIsAccepted()
    {
        Assert.Null(Exif.Parse([], "a.jpg"));
        Assert.Null(Exif.Parse("XX*\0\b\0\0\0"u8, "a.jpg"));
        Assert.Null(Exif.Parse("II*\0"u8, "a.jpg"));
        byte[] block = FullBlock(false, 3);
        Assert.Equal(3, Exif.Parse([.. "Exif\0\0"u8, .. block], null)!.Orientation);
    }

    [Fact]
    public void BadOffsetsAndLoopsAreSkippedAndReported()
    {
        bool little = true;
        // IFD0 pointing past the end.
        byte[] far = [.. "II*\0"u8, .. Long(little, 5000)];
        ExifData e = Exif.Parse(far, "far.jpg")!;
        Assert.Equal(1, e.Orientation);
        Assert.Contains(e.Problems, p => p.StartsWith("far.jpg: ", StringComparison.Ordinal) && p.Contains("outside", StringComparison.Ordinal));

        // Exif IFD pointer pointing back at IFD0: must not loop.
        byte[] loop = Tiff(little, [new Tag(0x0112, 3, 1, Short(little, 8)), new Tag(0x8769, 4, 1, Long(little, 8))]);
        e = Exif.Parse(loop, "loop.jpg")!;
        Assert.Equal(8, e.Orientation);
        Assert.Contains(e.Problems, p => p.Contains("loop", StringComparison.Ordinal));

        // Out-of-line value beyond the block, wrong type, orientation out of range, entry count beyond the block.
        byte[] bad = Tiff(little, [
            new Tag(0x0112, 3, 1, Short(little, 9)),
            new Tag(0x010F, 2, 100, Long(little, 4000)),
            new Tag(0x0110, 5, 1, Long(little, 0)),
        ]);
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(8 + 2 + 12 + 8), 4000);   // Make's value offset
        e = Exif.Parse(bad, "bad.jpg")!;
        Assert.Equal(1, e.Orientation);
        Assert.Null(e.Make);
        Assert.Null(e.Model);
        Assert.Equal(3, e.Problems.Count);

        byte[] tooMany = Tiff(little, [new Tag(0x0112, 3, 1, Short(little, 3))]);
        BinaryPrimitives.WriteUInt16LittleEndian(tooMany.AsSpan(8), 60000);
        e = Exif.Parse(tooMany, null)!;
        Assert.Equal(3, e.Orientation);
        Assert.Contains(e.Problems, p => p.Contains("60000", StringComparison.Ordinal));
    }

    [Fact]
    public void ZeroDenominatorIsNoValue()
    {
        byte[] tiff = Tiff(true, [], [new Tag(0x920A, 5, 1, Rational(true, 4, 0))]);
        Assert.Null(Exif.Parse(tiff, null)!.FocalLengthMm);
    }

    [Fact]
    public void MutatedBlocksNeverThrow()
    {
        var rng = new Random(3);
        byte[][] seeds = [FullBlock(true), FullBlock(false)];
        for (int i = 0; i < 3000; i++)
        {
            byte[] d = (byte[])seeds[i % 2].Clone();
            int flips = 1 + rng.Next(6);
            for (int k = 0; k < flips; k++)
                d[rng.Next(d.Length)] = (byte)rng.Next(256);
            d = d[..rng.Next(i % 3 == 0 ? d.Length / 2 : d.Length, d.Length + 1)];
            ExifData? e = Exif.Parse(d, "m.jpg");
            Assert.True(e is null || e.Orientation is >= 1 and <= 8);
        }
    }

    /// <summary>The APP1 "Exif" body of a JPEG (just enough marker walking for the fixtures).</summary>
    private static byte[] JpegExif(string path)
    {
        byte[] d = System.IO.File.ReadAllBytes(path);
        for (int i = 2; i + 4 <= d.Length && d[i] == 0xFF && d[i + 1] != 0xDA;)
        {
            int len = BinaryPrimitives.ReadUInt16BigEndian(d.AsSpan(i + 2));
            if (d[i + 1] == 0xE1 && d.AsSpan(i + 4).StartsWith("Exif\0\0"u8))
                return d[(i + 4)..(i + 2 + len)];
            i += 2 + len;
        }
        throw new InvalidDataException($"no EXIF in {path}");
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)]
    [InlineData(5)] [InlineData(6)] [InlineData(7)] [InlineData(8)]
    public void FixtureJpegsCarryTheirOrientation(int orientation)
    {
        string path = Path.Combine(Fixtures.Images, $"exif_orientation_{orientation}.jpg");
        Assert.Equal(orientation, Exif.Parse(JpegExif(path), path)!.Orientation);
    }

    [Fact]
    public void FixtureFocalLengthGivesReferencePixels()
    {
        string path = Path.Combine(Fixtures.Images, "exif_focal_35mm.jpg");
        ExifData e = Exif.Parse(JpegExif(path), path)!;
        Assert.Equal(26, e.FocalLength35mm);
        Assert.Equal(4.2, e.FocalLengthMm!.Value, 9);

        using JsonDocument cases = JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(Fixtures.Images, "cases.json")));
        JsonElement c = cases.RootElement.GetProperty("decode").EnumerateArray().Single(x => x.GetProperty("file").GetString() == "exif_focal_35mm.jpg");
        RgbImage upright = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, c.GetProperty("expected").GetString()!)).ToRgb8();
        double fpx = Exif.FocalLengthPixels(e.FocalLength35mmEquivalent()!.Value, upright.Width, upright.Height);
        Assert.Equal(c.GetProperty("focal_length_px").GetDouble(), fpx, 9);
    }

    /// <summary>3x2 picture whose red channel numbers the pixels 0..5 row by row.</summary>
    private static RgbImage Numbered()
    {
        var px = new byte[18];
        for (int i = 0; i < 6; i++)
        {
            px[i * 3] = (byte)i;
            px[i * 3 + 1] = (byte)(10 + i);
            px[i * 3 + 2] = (byte)(20 + i);
        }
        return new RgbImage(3, 2, px);
    }

    // Stored
    //   0 1 2
    //   3 4 5
    // shown upright as Pillow's exif_transpose does it.
    [Theory]
    [InlineData(1, 3, "0 1 2 3 4 5")]
    [InlineData(2, 3, "2 1 0 5 4 3")]
    [InlineData(3, 3, "5 4 3 2 1 0")]
    [InlineData(4, 3, "3 4 5 0 1 2")]
    [InlineData(5, 2, "0 3 1 4 2 5")]
    [InlineData(6, 2, "3 0 4 1 5 2")]
    [InlineData(7, 2, "5 2 4 1 3 0")]
    [InlineData(8, 2, "2 5 1 4 0 3")]
    public void OrientTurnsThePictureUpright(int orientation, int width, string order)
    {
        RgbImage o = Exif.Orient(Numbered(), orientation);
        Assert.Equal(width, o.Width);
        Assert.Equal(6 / width, o.Height);
        int[] ids = order.Split(' ').Select(int.Parse).ToArray();
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(ids[i], o.Pixels[i * 3]);
            Assert.Equal(10 + ids[i], o.Pixels[i * 3 + 1]);
            Assert.Equal(20 + ids[i], o.Pixels[i * 3 + 2]);
        }
    }

    [Theory]
    [InlineData(2, 2)] [InlineData(3, 3)] [InlineData(4, 4)] [InlineData(5, 5)]
    [InlineData(6, 8)] [InlineData(7, 7)] [InlineData(8, 6)]
    public void OrientationsUndoTheirInverse(int orientation, int inverse)
    {
        var px = new byte[7 * 4 * 3];
        new Random(orientation).NextBytes(px);
        var img = new RgbImage(7, 4, px);
        RgbImage back = Exif.Orient(Exif.Orient(img, orientation), inverse);
        Assert.Equal((7, 4), (back.Width, back.Height));
        Assert.Equal(px, back.Pixels);
    }

    [Fact]
    public void OrientRejectsUnknownValues()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Exif.Orient(Numbered(), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Exif.Orient(Numbered(), 9));
    }

    [Fact]
    public void FocalLengthPixelsScalesByTheDiagonal()
    {
        Assert.Equal(36 * 2.0, Exif.FocalLengthPixels(36, 72, 48), 9);
        Assert.Equal(26 * Math.Sqrt(160 * 160 + 240 * 240) / Math.Sqrt(36 * 36 + 24 * 24), Exif.FocalLengthPixels(26, 160, 240), 12);
    }
}
