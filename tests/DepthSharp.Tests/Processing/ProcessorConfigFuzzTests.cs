using System.Text;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tests.Fuzz;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

/// <summary>
/// Mutated preprocessor_config.json files (every one the fixtures hold: the tiny models', the released checkpoints' and
/// the processor cases'), loaded through the real entry point (ModelFamilies.LoadProcessor picks the family by
/// image_processor_type), as the slow or the fast class by turns, and, when that succeeds, run on a landscape, a portrait or a
/// one-pixel picture. Every case ends in pixel values or a ConfigException naming the file; quickly.
/// </summary>
public sealed class ProcessorConfigFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan InSuiteCaseLimit = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-processorfuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MutatedProcessorConfigsFailCleanly() => Run(seed: 2023, variants: 500, InSuiteCaseLimit);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedProcessorConfigsFailCleanly() => Run(seed: 23, variants: 10_000, CaseLimit);

    private static List<(string Name, string Json)> Corpus() =>
        Directory.EnumerateFiles(Fixtures.Root, "preprocessor_config.json", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetRelativePath(Fixtures.Root, Path.GetDirectoryName(f)!), File.ReadAllText(f)))
            .ToList();

    private static RgbImage Picture(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }

    private void Run(int seed, int variants, TimeSpan limit)
    {
        var corpus = Corpus();
        var mutator = new JsonMutator(JsonMutator.StringsOf(corpus.Select(c => c.Json)));
        RgbImage[] pictures = [Picture(64, 48, 1), Picture(30, 50, 2), Picture(1, 1, 3)];
        var rng = new Random(seed);
        string path = Path.Combine(_dir, "preprocessor_config.json");
        // The slow and the fast flavour, whatever the file names: the fast one has its own resize and padding to keep within bounds.
        void LoadAndPreprocess(RgbImage picture, ImageProcessorKind kind) => ModelFamilies.LoadProcessor(path, kind).Preprocess([picture]);
        var supported = new List<string>();
        foreach (var (name, json) in corpus)
        {
            File.WriteAllText(path, json);
            try
            {
                foreach (var picture in pictures)
                {
                    // A processor that floors to a multiple (GLPN) refuses pictures under it, as the reference fails on them.
                    try { LoadAndPreprocess(picture, ImageProcessorKind.Auto); }
                    catch (ImageFormatException e) when (e.Message.Contains("smaller than", StringComparison.Ordinal)) { }
                }
                supported.Add(name);
            }
            catch (ConfigException e) when (e.Message.Contains("is not supported", StringComparison.Ordinal)) { }
        }
        output.WriteLine($"{supported.Count} of {corpus.Count} processor configs load");
        var tally = new FuzzTally("preprocessor_config.json", typeof(ConfigException), typeof(ImageFormatException));
        for (int v = 0; v < variants; v++)
        {
            var (name, json) = corpus[v % corpus.Count];
            string how;
            if (rng.Next(20) == 0)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(json);
                int at = rng.Next(bytes.Length);
                bytes[at] = (byte)(0x80 + rng.Next(0x80));
                File.WriteAllBytes(path, bytes);
                how = $"byte {at} set to {bytes[at]:x2}";
            }
            else File.WriteAllText(path, mutator.Mutate(json, rng, out how));
            var picture = pictures[v % pictures.Length];
            // Alternating per round of pictures, so each picture meets both flavours.
            var kind = v / pictures.Length % 2 == 0 ? ImageProcessorKind.Slow : ImageProcessorKind.Fast;
            tally.Run($"variant {v} of {name} ({how}), {kind} class, {picture.Width}x{picture.Height} picture", path, () => LoadAndPreprocess(picture, kind));
        }
        tally.Report(output, topMessages: 30);
        tally.AssertComplete(variants, limit);
        Assert.True(tally.Count("success") > 0, "some mutations should keep a config usable");
    }
}
