using System.Text.Json;
using DepthSharp.Imaging;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Imaging;

/// <summary>
/// The JPEG cases of fixtures/images/cases.json and the extra files in Imaging/JpegData, against the
/// pixels libjpeg-turbo's djpeg gives; broken and hand-damaged files must be refused cleanly.
/// </summary>
public sealed class JpegDecoderTests(ITestOutputHelper output)
{
    private static string DataDir => Path.Combine(AppContext.BaseDirectory, "Imaging", "JpegData");

    private static JsonDocument Cases() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Images, "cases.json")));

    /// <summary>file, expected file, EXIF orientation (0 when the case has none).</summary>
    public static TheoryData<string, string, int> FixtureCases()
    {
        var data = new TheoryData<string, string, int>();
        using JsonDocument doc = Cases();
        foreach (JsonElement c in doc.RootElement.GetProperty("decode").EnumerateArray())
        {
            if (c.GetProperty("kind").GetString() != "jpeg")
                continue;
            int orientation = c.TryGetProperty("exif", out JsonElement exif) && exif.TryGetProperty("Orientation", out JsonElement o)
                ? o.GetInt32()
                : 0;
            data.Add(c.GetProperty("file").GetString()!, c.GetProperty("expected").GetString()!, orientation);
        }
        return data;
    }

    public static TheoryData<string> MustFail()
    {
        var data = new TheoryData<string>();
        using JsonDocument doc = Cases();
        foreach (JsonElement f in doc.RootElement.GetProperty("must_fail_cleanly").EnumerateArray())
            data.Add(f.GetString()!);
        return data;
    }

    public static TheoryData<string> ExtraCases()
    {
        var data = new TheoryData<string>();
        foreach (string path in Directory.EnumerateFiles(DataDir, "*.jpg").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    [Fact]
    public void CaseListsAreNotEmpty()
    {
        // Guards against the theories silently running on nothing if cases.json or the data folder changes.
        Assert.True(FixtureCases().Count >= 20);
        Assert.True(MustFail().Count >= 4);
        Assert.True(ExtraCases().Count >= 25);
    }

    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void FixtureDecodesToReferencePixels(string file, string expectedFile, int orientation)
    {
        JpegImage img = JpegDecoder.DecodeFile(Path.Combine(Fixtures.Images, file));
        RgbImage expected = PngDecoder.DecodeFile(Path.Combine(Fixtures.Images, expectedFile)).ToRgb8();
        if (orientation > 1)
        {
            // Expected pixels are turned upright; orientation is applied outside the decoder, so
            // only check what the decoder owns: the EXIF data is handed over and the size fits.
            Assert.NotNull(img.ExifPayload);
            var size = (img.Image.Width, img.Image.Height);
            Assert.True(size == (expected.Width, expected.Height) || size == (expected.Height, expected.Width),
                $"{file}: {size} vs expected {expected.Width}x{expected.Height}");
            output.WriteLine($"{file}: orientation {orientation}, {img.Image.Width}x{img.Image.Height}, EXIF {img.ExifPayload!.Length} bytes");
            return;
        }
        if (orientation == 1)
            Assert.NotNull(img.ExifPayload);
        (int differing, int overOne, int maxDiff) = Compare(expected, img.Image);
        output.WriteLine($"{file}: {img.Image.Width}x{img.Image.Height}, {img.Components} components, " +
                         $"{differing} channel values differ, {overOne} by more than 1, max diff {maxDiff}");
        Assert.Equal(0, overOne);
    }

    [Theory]
    [MemberData(nameof(ExtraCases))]
    public void ExtraFileDecodesExactly(string name)
    {
        JpegImage img = JpegDecoder.DecodeFile(Path.Combine(DataDir, name + ".jpg"));
        RgbImage expected = PngDecoder.DecodeFile(Path.Combine(DataDir, name + ".expected.png")).ToRgb8();
        (int differing, _, int maxDiff) = Compare(expected, img.Image);
        output.WriteLine($"{name}: {img.Image.Width}x{img.Image.Height}, {img.Components} components, {differing} channel values differ, max diff {maxDiff}");
        Assert.Equal(0, differing);
    }

    [Fact]
    public void ComponentCountIsReported()
    {
        Assert.Equal(1, JpegDecoder.DecodeFile(Path.Combine(Fixtures.Images, "grayscale_q85.jpg")).Components);
        Assert.Equal(3, JpegDecoder.DecodeFile(Path.Combine(Fixtures.Images, "baseline_420_q75.jpg")).Components);
        Assert.Equal(4, JpegDecoder.DecodeFile(Path.Combine(DataDir, "cmyk_adobe.jpg")).Components);
        Assert.Null(JpegDecoder.DecodeFile(Path.Combine(Fixtures.Images, "baseline_420_q75.jpg")).ExifPayload);
    }

    [Fact]
    public void ExifPayloadIsTheTiffData()
    {
        JpegImage img = JpegDecoder.DecodeFile(Path.Combine(Fixtures.Images, "exif_orientation_6.jpg"));
        byte[] tiff = img.ExifPayload!;
        // A TIFF header: byte order mark then 42.
        Assert.True(tiff.AsSpan(0, 4).SequenceEqual("II*\0"u8) || tiff.AsSpan(0, 4).SequenceEqual("MM\0*"u8));
    }

    [Theory]
    [MemberData(nameof(MustFail))]
    public void BrokenFileIsRefusedNamingIt(string file)
    {
        string path = Path.Combine(Fixtures.Images, file);
        var e = Assert.Throws<ImageFormatException>(() => JpegDecoder.DecodeFile(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        output.WriteLine(e.Message);
    }

    /// <summary>The scalar fallbacks (for CPUs without AVX2) give the same pixels as the vector paths.</summary>
    [Fact]
    public void ScalarAndVectorPathsAgree()
    {
        IEnumerable<string> files = Directory.EnumerateFiles(Fixtures.Images, "*.jpg")
            .Where(f => !Path.GetFileName(f).StartsWith("bad_", StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(DataDir, "*.jpg"));
        int count = 0;
        foreach (string f in files)
        {
            byte[] data = File.ReadAllBytes(f);
            byte[] vector = new JpegReader(data, f, ImageDecodeOptions.Default, simd: true).Decode().Image.Pixels;
            byte[] scalar = new JpegReader(data, f, ImageDecodeOptions.Default, simd: false).Decode().Image.Pixels;
            Assert.True(vector.AsSpan().SequenceEqual(scalar), Path.GetFileName(f));
            count++;
        }
        output.WriteLine($"{count} files agree");
    }

    [Fact]
    public void VectorIdctMatchesScalarIdct()
    {
        var rng = new Random(12345);
        var coef = new short[64];
        var quant = new int[64];
        var a = new byte[8 * 11];
        var b = new byte[8 * 11];
        for (int trial = 0; trial < 2000; trial++)
        {
            for (int i = 0; i < 64; i++)
            {
                // Mostly sparse blocks, as real data, with magnitudes up to the 8-bit maximum.
                coef[i] = (short)(rng.Next(4) == 0 ? rng.Next(-1024, 1024) / (1 + i / 8) : 0);
                quant[i] = rng.Next(1, 100);
            }
            JpegIdct.TransformScalar(coef, quant, a, 11);
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            {
                JpegIdct.TransformAvx2(coef, quant, b, 11);
                Assert.True(a.AsSpan().SequenceEqual(b), $"trial {trial}");
            }
        }
    }

    [Fact]
    public void TooManyPixelsIsRefusedBeforeDecoding()
    {
        string path = Path.Combine(Fixtures.Images, "baseline_420_q75.jpg");
        var e = Assert.Throws<ImageFormatException>(() => JpegDecoder.DecodeFile(path, new ImageDecodeOptions { MaxPixels = 317 * 211 - 1 }));
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
        Assert.Equal(317, JpegDecoder.DecodeFile(path, new ImageDecodeOptions { MaxPixels = 317 * 211 }).Image.Width);
    }

    [Fact]
    public void DecodeFromMemoryNamesTheGivenFile()
    {
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, "baseline_420_q75.jpg"));
        Assert.Equal(317, JpegDecoder.Decode(data).Image.Width);
        var e = Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode(data.AsSpan(0, 1000), "cut.jpg"));
        Assert.StartsWith("cut.jpg: ", e.Message, StringComparison.Ordinal);
        Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode([]));
    }

    [Fact]
    public void TrailingBytesAfterEoiAreIgnored()
    {
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, "baseline_420_q75.jpg"));
        byte[] padded = [.. data, .. "trailing junk"u8, 0xFF, 0xD8, 0xFF, 0, 0xFF];
        Assert.Equal(JpegDecoder.Decode(data).Image.Pixels, JpegDecoder.Decode(padded).Image.Pixels);
    }

    [Fact]
    public void MissingEoiIsRefused()
    {
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, "baseline_420_q75.jpg"));
        var e = Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode(data.AsSpan(0, data.Length - 2), "x.jpg"));
        Assert.Contains("EOI", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    public void OutOfSequenceRestartMarkerIsResynchronised(int shift)
    {
        // libjpeg's resync rule: a restart marker that is neither the expected one nor one of the
        // two before or after it is taken as the expected one, so the pixels do not change.
        // Markers one or two ahead mean "data missing", which a Huffman scan cannot supply.
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, "baseline_restart.jpg"));
        byte[] expected = JpegDecoder.Decode(data).Image.Pixels;
        int at = IndexOfRestart(data, 3);
        data[at + 1] = (byte)(0xD0 + ((3 + shift) & 7));
        if (shift == 4)
        {
            Assert.Equal(expected, JpegDecoder.Decode(data).Image.Pixels);
        }
        else
        {
            // One after (shift 1) or one before (7): libjpeg fills a gap or skips a segment; the
            // result differs from the original, but it must still be decoded or refused cleanly.
            try
            {
                JpegDecoder.Decode(data, "rst.jpg");
            }
            catch (ImageFormatException e)
            {
                output.WriteLine(e.Message);
            }
        }
    }

    [Fact]
    public void GarbageBeforeRestartMarkerIsSkipped()
    {
        // Extra bytes between a segment's data and its RSTn are discarded (libjpeg warns and skips them).
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, "baseline_restart.jpg"));
        byte[] expected = JpegDecoder.Decode(data).Image.Pixels;
        int at = IndexOfRestart(data, 2);
        byte[] patched = [.. data.AsSpan(0, at), 0x12, 0x34, .. data.AsSpan(at)];
        Assert.Equal(expected, JpegDecoder.Decode(patched).Image.Pixels);
    }

    /// <summary>Position of the n-th (0-based) RSTn marker in the entropy-coded data.</summary>
    private static int IndexOfRestart(byte[] data, int n)
    {
        int sos = Segments(data).Single(s => s.Marker == 0xDA).Start;
        for (int i = sos; i + 1 < data.Length; i++)
        {
            if (data[i] == 0xFF && data[i + 1] >= 0xD0 && data[i + 1] <= 0xD7 && n-- == 0)
                return i;
        }
        throw new InvalidOperationException("not enough restart markers");
    }

    public static TheoryData<string, string, string> DamagedHeaders() => new()
    {
        // name, damage, expected fragment of the message
        { "precision12", "sof:0=12", "12-bit" },
        { "precision16", "sof:0=16", "precision" },
        { "zeroHeight", "sof:1=0,sof:2=0", "zero size" },
        { "zeroWidth", "sof:3=0,sof:4=0", "zero size" },
        { "twoComponents", "sof:5=2", "components" },
        { "samplingZero", "sof:7=0", "sampling factors" },
        { "samplingFive", "sof:7=0x51", "sampling factors" },
        { "fractionalSampling", "sof:7=0x32,sof:10=0x21", "do not divide" },
        { "quantTableFour", "sof:8=4", "quantization table" },
        { "scanUnknownComponent", "sos:1=9", "component 9" },
        { "scanTwiceSameComponent", "sos:3=1", "component 1" },
        { "scanUndefinedHuffman", "sos:2=0x33", "Huffman" },
        { "scanBadLength", "sos:0=5", "SOS" },
        { "dhtBadClass", "dht:0=0x20", "DHT" },
        { "dhtTooManyCodes", "dht:16=0xff", "DHT" },
        { "dhtOverfullCode", "dht:1=3,dht:2=0,dht:3=3", "Huffman code" },
        { "dqtBadId", "dqt:0=0x05", "DQT" },
        { "dqtBadPrecision", "dqt:0=0x20", "precision" },
        { "sofLengthPastEnd", "sofLen=0xfff0", "past the end" },
        { "unknownMarker", "marker:sof=0x02", "unknown marker" },
        { "lossless", "marker:sof=0xC3", "lossless" },
        { "hierarchical", "marker:sof=0xC5", "hierarchical" },
        { "noDqt", "drop:dqt", "quantization table" },
        { "noDht", "drop:dht", "Huffman" },
        { "noSof", "drop:sof", "SOS marker before" },
        { "secondSoi", "marker:dqt=0xD8", "SOI" },
    };

    [Theory]
    [MemberData(nameof(DamagedHeaders))]
    public void DamagedHeaderIsRefused(string name, string damage, string fragment)
    {
        byte[] data = Damage(File.ReadAllBytes(Path.Combine(Fixtures.Images, "baseline_420_q75.jpg")), damage);
        var e = Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode(data, name + ".jpg"));
        output.WriteLine(e.Message);
        Assert.StartsWith(name + ".jpg: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> DamagedProgressiveScans() => new()
    {
        { "alTooLarge", "sos:9=0x0E", "progressive scan parameters" },
        { "dcScanWithSe", "sos:8=5", "progressive scan parameters" },
        { "refinementNotOneLess", "sos#6:5=0x20", "progressive scan parameters" },
        { "acScanOfTwoComponents", "sos#2:0=2", "SOS" },
    };

    [Theory]
    [MemberData(nameof(DamagedProgressiveScans))]
    public void DamagedProgressionIsRefused(string name, string damage, string fragment)
    {
        byte[] data = Damage(File.ReadAllBytes(Path.Combine(Fixtures.Images, "progressive_420.jpg")), damage);
        var e = Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode(data, name + ".jpg"));
        output.WriteLine(e.Message);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AcScanBeforeDcScanIsDecodedAsLibjpegDoes()
    {
        // libjpeg warns about the order but decodes each scan as told; the final coefficients
        // (and so the pixels) are those of the original order.
        byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, "progressive_420.jpg"));
        byte[] swapped = Damage(data, "swapscans");
        Assert.NotEqual(data, swapped);
        Assert.Equal(JpegDecoder.Decode(data).Image.Pixels, JpegDecoder.Decode(swapped).Image.Pixels);
    }

    [Fact]
    public void EveryTruncationIsRefusedCleanly()
    {
        foreach (string file in new[] { "baseline_420_q75.jpg", "progressive_420.jpg", "arithmetic_420.jpg", "baseline_restart.jpg" })
        {
            byte[] data = File.ReadAllBytes(Path.Combine(Fixtures.Images, file));
            for (int len = 0; len < data.Length - 2; len += 1 + len / 16)
                Assert.Throws<ImageFormatException>(() => JpegDecoder.Decode(data.AsSpan(0, len), file));
        }
    }

    /// <summary>(marker, start of payload, payload length) of each segment up to and including the first SOS.</summary>
    private static List<(int Marker, int Start, int Length)> Segments(byte[] data)
    {
        var list = new List<(int, int, int)>();
        int p = 2;
        while (p + 4 <= data.Length)
        {
            int marker = data[p + 1];
            int length = (data[p + 2] << 8) | data[p + 3];
            list.Add((marker, p + 4, length - 2));
            p += 2 + length;
            if (marker == 0xDA)
                break;
        }
        return list;
    }

    /// <summary>
    /// Applies comma-separated edits: "seg:i=v" sets payload byte i of the first segment of that
    /// kind ("seg#n" for the n-th, 1-based), "sofLen=v" sets the SOF length field, "marker:seg=c"
    /// changes that segment's marker code, "drop:seg" removes every such segment, "swapscans"
    /// moves the first AC scan before the first scan.
    /// </summary>
    private static byte[] Damage(byte[] data, string spec)
    {
        var kinds = new Dictionary<string, int> { ["sof"] = -1, ["sos"] = 0xDA, ["dht"] = 0xC4, ["dqt"] = 0xDB };
        byte[] d = (byte[])data.Clone();
        foreach (string edit in spec.Split(','))
        {
            List<(int Marker, int Start, int Length)> segs = Segments(d);
            bool Is(int marker, string kind) => kinds[kind] == -1 ? marker is 0xC0 or 0xC1 or 0xC2 : marker == kinds[kind];
            if (edit == "swapscans")
            {
                d = SwapFirstAcScan(d);
                continue;
            }
            string[] kv = edit.Split('=');
            if (kv[0].StartsWith("drop:", StringComparison.Ordinal))
            {
                string kind = kv[0][5..];
                var kept = new List<byte>(d[..2]);
                int pos = 2;
                foreach (var s in segs)
                {
                    int segStart = s.Start - 4, segEnd = s.Start + s.Length;
                    kept.AddRange(d[pos..segStart]);
                    if (!Is(s.Marker, kind)) kept.AddRange(d[segStart..segEnd]);
                    pos = segEnd;
                }
                kept.AddRange(d[pos..]);
                d = [.. kept];
                continue;
            }
            int value = Convert.ToInt32(kv[1], kv[1].StartsWith("0x", StringComparison.Ordinal) ? 16 : 10);
            if (kv[0].StartsWith("marker:", StringComparison.Ordinal))
            {
                var s = segs.First(x => Is(x.Marker, kv[0][7..]));
                d[s.Start - 3] = (byte)value;
                continue;
            }
            if (kv[0] == "sofLen")
            {
                var s = segs.First(x => Is(x.Marker, "sof"));
                d[s.Start - 2] = (byte)(value >> 8);
                d[s.Start - 1] = (byte)value;
                continue;
            }
            string[] target = kv[0].Split(':');
            string[] kindAndIndex = target[0].Split('#');
            int nth = kindAndIndex.Length > 1 ? int.Parse(kindAndIndex[1], System.Globalization.CultureInfo.InvariantCulture) : 1;
            var seg = kindAndIndex[0] == "sos" ? ScanHeaders(d).ElementAt(nth - 1) : segs.Where(x => Is(x.Marker, kindAndIndex[0])).ElementAt(nth - 1);
            d[seg.Start + int.Parse(target[1], System.Globalization.CultureInfo.InvariantCulture)] = (byte)value;
        }
        return d;
    }

    /// <summary>Every SOS segment in the file (markers found by scanning, skipping stuffed bytes).</summary>
    private static IEnumerable<(int Marker, int Start, int Length)> ScanHeaders(byte[] d)
    {
        for (int i = 2; i + 3 < d.Length; i++)
        {
            if (d[i] == 0xFF && d[i + 1] == 0xDA)
                yield return (0xDA, i + 4, ((d[i + 2] << 8) | d[i + 3]) - 2);
        }
    }

    /// <summary>
    /// Moves the first scan with Ss &gt; 0, with the table segments just before it and its data, in
    /// front of the first scan.
    /// </summary>
    private static byte[] SwapFirstAcScan(byte[] d)
    {
        var scans = ScanHeaders(d).ToList();
        int first = scans[0].Start - 4;
        int acIndex = scans.FindIndex(s => d[s.Start + 1 + 2 * d[s.Start]] > 0);
        int acStart = FirstMarkerAfter(d, scans[acIndex - 1].Start + scans[acIndex - 1].Length);
        int acEnd = acIndex + 1 < scans.Count ? FirstMarkerAfter(d, scans[acIndex].Start + scans[acIndex].Length) : d.Length - 2;
        return [.. d[..first], .. d[acStart..acEnd], .. d[first..acStart], .. d[acEnd..]];
    }

    /// <summary>The first marker after entropy-coded data starting at <paramref name="from"/> (RSTn are part of the data).</summary>
    private static int FirstMarkerAfter(byte[] d, int from)
    {
        for (int i = from; i + 1 < d.Length; i++)
        {
            if (d[i] == 0xFF && d[i + 1] != 0 && d[i + 1] != 0xFF && d[i + 1] is < 0xD0 or > 0xD7)
                return i;
        }
        return d.Length;
    }

    private static (int Differing, int OverOne, int MaxDiff) Compare(RgbImage expected, RgbImage actual)
    {
        Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
        int differing = 0, overOne = 0, maxDiff = 0;
        for (int i = 0; i < expected.Pixels.Length; i++)
        {
            int diff = Math.Abs(expected.Pixels[i] - actual.Pixels[i]);
            if (diff > 0) differing++;
            if (diff > 1) overOne++;
            maxDiff = Math.Max(maxDiff, diff);
        }
        return (differing, overOne, maxDiff);
    }
}
