using System.Diagnostics;
using DepthSharp.Imaging;
using Xunit.Abstractions;
using static DepthSharp.Tests.Imaging.PngBuilder;

namespace DepthSharp.Tests.Imaging;

/// <summary>
/// Mutated PNGs must either decode or be refused with ImageFormatException, quickly. Half the variants get
/// their chunk CRCs repaired so the mutations reach the header, palette, zlib and filter code.
/// </summary>
public sealed class PngFuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PerDecodeLimit = TimeSpan.FromSeconds(2);

    [Fact]
    public void MutatedPngsFailCleanly() => Run(seed: 20240611, variants: 400);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedPngsFailCleanly() => Run(seed: 7, variants: 12_000);

    private void Run(int seed, int variants)
    {
        List<(string Name, byte[] Data)> corpus = Corpus();
        var rng = new Random(seed);
        int decoded = 0, refused = 0;
        TimeSpan slowest = TimeSpan.Zero;
        for (int v = 0; v < variants; v++)
        {
            (string name, byte[] original) = corpus[v % corpus.Count];
            byte[] mutated = Mutate(original, rng, out string how);
            if (rng.Next(2) == 0)
                FixCrcs(mutated);
            var sw = Stopwatch.StartNew();
            try
            {
                PngImage img = PngDecoder.Decode(mutated, "fuzz.png");
                img.ToRgb8();
                decoded++;
            }
            catch (ImageFormatException e)
            {
                Assert.StartsWith("fuzz.png: ", e.Message, StringComparison.Ordinal);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"variant {v} of {name} ({how}) threw {e.GetType().Name}: {e.Message}");
            }
            sw.Stop();
            slowest = sw.Elapsed > slowest ? sw.Elapsed : slowest;
            Assert.True(sw.Elapsed < PerDecodeLimit, $"variant {v} of {name} ({how}) took {sw.Elapsed.TotalMilliseconds:F0} ms");
        }
        output.WriteLine($"{variants} variants: {decoded} decoded, {refused} refused, slowest {slowest.TotalMilliseconds:F1} ms");
        Assert.Equal(variants, decoded + refused);
    }

    private static List<(string, byte[])> Corpus()
    {
        var corpus = Directory.GetFiles(Fixtures.Images, "png_*.png")
            .Where(f => !f.EndsWith(".expected.png", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), System.IO.File.ReadAllBytes(f)))
            .ToList();
        // Small hand-built files reach layouts the fixtures lack (packed palette + tRNS, interlaced 16-bit, 1-bit gray).
        var rng = new Random(1);
        byte[] Rows(int count, int bytes) => Enumerable.Range(0, count).SelectMany(_ => { var r = new byte[bytes + 1]; rng.NextBytes(r); r[0] = (byte)rng.Next(5); return r; }).ToArray();
        corpus.Add(("palette2_trns", File(Ihdr(13, 6, 2, 3), Rows(6, 4), ("PLTE", [1, 2, 3, 4, 5, 6, 7, 8, 9]), ("tRNS", [0, 128]))));
        corpus.Add(("gray_alpha16_adam7", File(Ihdr(11, 9, 16, 4, interlace: 1), Adam7Rows(11, 9, 4, rng))));
        corpus.Add(("gray1", File(Ihdr(21, 5, 1, 0), Rows(5, 3))));
        return corpus;
    }

    private static byte[] Adam7Rows(int w, int h, int bytesPerPixel, Random rng)
    {
        int[] x0 = [0, 4, 0, 2, 0, 1, 0], y0 = [0, 0, 4, 0, 2, 0, 1], dx = [8, 8, 4, 4, 2, 2, 1], dy = [8, 8, 8, 4, 4, 2, 2];
        var bytes = new List<byte>();
        for (int p = 0; p < 7; p++)
        {
            int pw = w > x0[p] ? (w - x0[p] + dx[p] - 1) / dx[p] : 0;
            for (int y = y0[p]; y < h && pw > 0; y += dy[p])
            {
                var row = new byte[1 + pw * bytesPerPixel];
                rng.NextBytes(row);
                row[0] = (byte)rng.Next(5);
                bytes.AddRange(row);
            }
        }
        return bytes.ToArray();
    }

    private static byte[] Mutate(byte[] src, Random rng, out string how)
    {
        byte[] d = (byte[])src.Clone();
        int at = rng.Next(d.Length);
        switch (rng.Next(6))
        {
            case 0:
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips; i++)
                    d[rng.Next(d.Length)] ^= (byte)(1 << rng.Next(8));
                how = $"{flips} bit flips";
                return d;
            case 1:
                how = $"truncated to {at}";
                return d[..at];
            case 2:
                var ins = new byte[1 + rng.Next(16)];
                rng.NextBytes(ins);
                how = $"{ins.Length} bytes inserted at {at}";
                return [.. d[..at], .. ins, .. d[at..]];
            case 3:
                int del = Math.Min(1 + rng.Next(16), d.Length - at);
                how = $"{del} bytes deleted at {at}";
                return [.. d[..at], .. d[(at + del)..]];
            case 4:
                // Header-sized region: hits IHDR, PLTE, tRNS and zlib headers far more often than chance.
                at = rng.Next(Math.Min(d.Length, 64));
                d[at] = (byte)rng.Next(256);
                how = $"byte {at} overwritten";
                return d;
            default:
                int len = Math.Min(1 + rng.Next(64), d.Length - at);
                int to = rng.Next(d.Length);
                how = $"{len} bytes from {at} copied over {to}";
                Array.Copy(src, at, d, to, Math.Min(len, d.Length - to));
                return d;
        }
    }
}
