using System.Diagnostics;
using DepthSharp.Imaging;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Imaging;

/// <summary>
/// Mutated JPEGs must either decode or be refused with ImageFormatException, quickly. A third of
/// the mutations are aimed at the marker segments before the entropy-coded data, where a single
/// changed byte reaches the most code.
/// </summary>
public sealed class JpegFuzzTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PerDecodeLimit = TimeSpan.FromSeconds(2);

    [Fact]
    public void MutatedJpegsFailCleanly() => Run(seed: 20250611, variants: 400);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedJpegsFailCleanly() => Run(seed: 11, variants: 12_000);

    private void Run(int seed, int variants)
    {
        List<(string Name, byte[] Data)> corpus = Corpus();
        var rng = new Random(seed);
        int decoded = 0, refused = 0;
        TimeSpan slowest = TimeSpan.Zero;
        var messages = new Dictionary<string, int>();
        for (int v = 0; v < variants; v++)
        {
            (string name, byte[] original) = corpus[v % corpus.Count];
            byte[] mutated = Mutate(original, rng, out string how);
            // Every eighth variant runs the scalar fallbacks, which other CPUs take.
            bool simd = v % 8 != 7;
            var sw = Stopwatch.StartNew();
            try
            {
                new JpegReader(mutated, "fuzz.jpg", ImageDecodeOptions.Default, simd).Decode();
                decoded++;
            }
            catch (ImageFormatException e)
            {
                Assert.StartsWith("fuzz.jpg: ", e.Message, StringComparison.Ordinal);
                string kind = e.Message.Length > 50 ? e.Message[10..50] : e.Message[10..];
                messages[kind] = messages.GetValueOrDefault(kind) + 1;
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"variant {v} of {name} ({how}) threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
            sw.Stop();
            slowest = sw.Elapsed > slowest ? sw.Elapsed : slowest;
            Assert.True(sw.Elapsed < PerDecodeLimit, $"variant {v} of {name} ({how}) took {sw.Elapsed.TotalMilliseconds:F0} ms");
        }
        output.WriteLine($"{variants} variants of {corpus.Count} files: {decoded} decoded, {refused} refused, slowest {slowest.TotalMilliseconds:F1} ms");
        foreach (var (kind, count) in messages.OrderByDescending(m => m.Value).Take(12))
            output.WriteLine($"  {count,6}  {kind}...");
        Assert.Equal(variants, decoded + refused);
    }

    private static List<(string, byte[])> Corpus()
    {
        IEnumerable<string> files = Directory.EnumerateFiles(Fixtures.Images, "*.jpg")
            .Where(f => !Path.GetFileName(f).StartsWith("bad_", StringComparison.Ordinal))
            .Concat(Directory.EnumerateFiles(Path.Combine(AppContext.BaseDirectory, "Imaging", "JpegData"), "*.jpg"))
            .Order(StringComparer.Ordinal);
        return files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))).ToList();
    }

    /// <summary>Where the entropy-coded data of the first scan begins (the header ends).</summary>
    private static int HeaderLength(byte[] d)
    {
        int p = 2;
        while (p + 4 <= d.Length && d[p] == 0xFF)
        {
            int marker = d[p + 1], length = (d[p + 2] << 8) | d[p + 3];
            p += 2 + length;
            if (marker == 0xDA)
                break;
        }
        return Math.Clamp(p, 2, d.Length);
    }

    private static byte[] Mutate(byte[] original, Random rng, out string how)
    {
        byte[] d = (byte[])original.Clone();
        int header = HeaderLength(d);
        // Positions: a third in the header, the rest anywhere.
        int Pos(int length) => rng.Next(3) == 0 ? rng.Next(Math.Min(header, length)) : rng.Next(length);
        switch (rng.Next(8))
        {
            case 0:
            {
                int n = rng.Next(1, 9);
                for (int i = 0; i < n; i++)
                {
                    int p = Pos(d.Length);
                    d[p] ^= (byte)(1 << rng.Next(8));
                }
                how = $"{n} bit flips";
                return d;
            }
            case 1:
            {
                int p = Pos(d.Length);
                d[p] = (byte)rng.Next(256);
                how = $"byte {p} set";
                return d;
            }
            case 2:
            {
                // Interesting values for lengths, counts, sizes and table ids.
                int p = Pos(d.Length);
                byte[] special = [0x00, 0x01, 0x02, 0x03, 0x04, 0x0F, 0x10, 0x11, 0x22, 0x44, 0x7F, 0x80, 0xC0, 0xD9, 0xDA, 0xFE, 0xFF];
                d[p] = special[rng.Next(special.Length)];
                how = $"byte {p} set to a special value";
                return d;
            }
            case 3:
            {
                int len = rng.Next(d.Length);
                how = $"truncated to {len}";
                return d[..len];
            }
            case 4:
            {
                int p = Pos(d.Length), n = rng.Next(1, 17);
                var ins = new byte[n];
                rng.NextBytes(ins);
                how = $"{n} bytes inserted at {p}";
                return [.. d[..p], .. ins, .. d[p..]];
            }
            case 5:
            {
                int p = Pos(d.Length), n = Math.Min(rng.Next(1, 17), d.Length - p);
                how = $"{n} bytes deleted at {p}";
                return [.. d[..p], .. d[(p + n)..]];
            }
            case 6:
            {
                // A 16-bit field (segment length, width, height) set to an extreme value.
                int p = Pos(d.Length - 1);
                int v = rng.Next(4) switch { 0 => 0, 1 => 0xFFFF, 2 => rng.Next(65536), _ => (d[p] << 8 | d[p + 1]) + rng.Next(-3, 4) };
                d[p] = (byte)(v >> 8);
                d[p + 1] = (byte)v;
                how = $"16-bit field at {p} set to {v}";
                return d;
            }
            default:
            {
                // A chunk of the file duplicated elsewhere (repeats segments and scans).
                int a = rng.Next(d.Length), n = Math.Min(rng.Next(1, 200), d.Length - a), p = rng.Next(d.Length);
                how = $"{n} bytes from {a} copied to {p}";
                return [.. d[..p], .. d.AsSpan(a, n), .. d[p..]];
            }
        }
    }
}
