using System.Text;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;
using DepthSharp.Tests.Fuzz;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>
/// Mutated config.json files of every fixture model, loaded through the real entry point (DepthEstimator.Load, which
/// picks the family by model_type, validates the config, builds the model and loads the fixture's weights strictly) and,
/// when that succeeds, run on the fixture's picture. Every case ends in depth, or in a ConfigException or
/// CheckpointException naming the file, or a ModelOutputException naming the folder (a config can make finite weights
/// give non-finite depth); quickly.
/// </summary>
public sealed class ConfigFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan InSuiteCaseLimit = TimeSpan.FromSeconds(10);

    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-configfuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MutatedConfigsFailCleanly() => Run(seed: 2022, variants: 500, InSuiteCaseLimit);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedConfigsFailCleanly() => Run(seed: 22, variants: 10_000, CaseLimit);

    private sealed record Case(string Name, string Folder, string Config, LoadedImage Image, Tensor? Prompt);

    /// <summary>A folder per fixture model holding links to its weights and processor config; config.json is written per case.</summary>
    private List<Case> Corpus()
    {
        var cases = new List<Case>();
        foreach (string fixture in Directory.EnumerateDirectories(Fixtures.Path("models")).Order(StringComparer.Ordinal))
        {
            string folder = Path.Combine(_dir, Path.GetFileName(fixture));
            Directory.CreateDirectory(folder);
            foreach (string file in Directory.EnumerateFiles(fixture))
            {
                string name = Path.GetFileName(file);
                if (name.EndsWith(".safetensors", StringComparison.Ordinal) && !name.StartsWith("expected", StringComparison.Ordinal)
                    || name is "model.safetensors.index.json" or "preprocessor_config.json")
                    File.CreateSymbolicLink(Path.Combine(folder, name), file);
            }
            // A fixture of a family with a second input (Prompt Depth Anything) holds it beside its picture.
            string prompt = Path.Combine(fixture, "prompt_depth0.npy");
            cases.Add(new Case(Path.GetFileName(fixture), folder, File.ReadAllText(Path.Combine(fixture, "config.json")),
                ImageFile.Load(Path.Combine(fixture, "image0.png")), File.Exists(prompt) ? PromptDepthFile.Read(prompt) : null));
        }
        return cases;
    }

    /// <summary>The prompt goes to a family that takes one, whichever family the mutated model_type picked.</summary>
    private static void LoadAndEstimate(Case c)
    {
        var estimator = DepthEstimator.Load(c.Folder);
        estimator.Estimate([new DepthInput(c.Image, estimator.Family.ExtraInput is null ? null : c.Prompt)]);
    }

    private void Run(int seed, int variants, TimeSpan limit)
    {
        var corpus = Corpus();
        var mutator = new JsonMutator(JsonMutator.StringsOf(corpus.Select(c => c.Config)));
        var rng = new Random(seed);
        var supported = new List<string>();
        foreach (var c in corpus)
        {
            // The originals: the supported families load and run (and are compiled before the clock runs).
            File.WriteAllText(Path.Combine(c.Folder, "config.json"), c.Config);
            try
            {
                LoadAndEstimate(c);
                supported.Add(c.Name);
            }
            catch (ConfigException e) when (e.Message.Contains("not supported", StringComparison.Ordinal)) { }
        }
        output.WriteLine($"families that load: {string.Join(", ", supported)}");
        Assert.Contains("depth_pro_tiny", supported);
        var tally = new FuzzTally("config.json", typeof(ConfigException), typeof(CheckpointException), typeof(ModelOutputException));
        for (int v = 0; v < variants; v++)
        {
            var c = corpus[v % corpus.Count];
            string path = Path.Combine(c.Folder, "config.json"), how;
            if (rng.Next(20) == 0)
            {
                // Bytes that are not UTF-8, which the text mutations cannot make.
                byte[] bytes = Encoding.UTF8.GetBytes(c.Config);
                int at = rng.Next(bytes.Length);
                bytes[at] = (byte)(0x80 + rng.Next(0x80));
                File.WriteAllBytes(path, bytes);
                how = $"byte {at} set to {bytes[at]:x2}";
            }
            else File.WriteAllText(path, mutator.Mutate(c.Config, rng, out how));
            // Errors name config.json, a weights file or the folder: all start with the folder's path.
            tally.Run($"variant {v} of {c.Name} ({how})", c.Folder, () => LoadAndEstimate(c));
        }
        tally.Report(output, topMessages: 40);
        tally.AssertComplete(variants, limit);
        Assert.True(tally.Count("success") > 0, "some mutations should keep a config usable");
    }
}
