using System.Text.Json;
using DepthSharp.Tests.Fuzz;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Cli;

/// <summary>
/// `depthsharp inspect` and `estimate` as processes on fixture model folders with one file mutated in turn: config.json,
/// preprocessor_config.json, the weights file, or the weights' values (made non-finite). Each run ends with exit code 0
/// and its output, or 1 with one "error:" line and nothing written; never a stack trace.
/// </summary>
public sealed class CliFuzzTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Models = ["dpt_tiny", "depth_anything_tiny_relative", "zoedepth_tiny_nk", "depth_pro_tiny_nofov_f16"];

    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-clifuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MutatedModelFoldersNeverPrintAStackTrace() => Run(seed: 2024, variants: 8);

    [Fact]
    [Trait("Category", "Fuzz")]
    public void ManyMutatedModelFoldersNeverPrintAStackTrace() => Run(seed: 24, variants: 120);

    private void Run(int seed, int variants)
    {
        var rng = new Random(seed);
        var configs = new JsonMutator(JsonMutator.StringsOf(Models.Select(m => File.ReadAllText(Fixtures.Path("models", m, "config.json")))));
        var processors = new JsonMutator(JsonMutator.StringsOf(Models.Select(m => File.ReadAllText(Fixtures.Path("models", m, "preprocessor_config.json")))));
        var headers = SafeTensorsMutator.HeaderMutator();
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int v = 0; v < variants; v++)
        {
            string model = Models[v % Models.Length], src = Fixtures.Path("models", model), folder = Path.Combine(_dir, $"model{v}");
            Directory.CreateDirectory(folder);
            foreach (string f in new[] { "config.json", "preprocessor_config.json", "model.safetensors" })
                File.Copy(Path.Combine(src, f), Path.Combine(folder, f));
            string how;
            switch (v % 4)
            {
                case 0:
                    File.WriteAllText(Path.Combine(folder, "config.json"), configs.Mutate(File.ReadAllText(Path.Combine(src, "config.json")), rng, out how));
                    how = "config.json: " + how;
                    break;
                case 1:
                    File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"),
                        processors.Mutate(File.ReadAllText(Path.Combine(src, "preprocessor_config.json")), rng, out how));
                    how = "preprocessor_config.json: " + how;
                    break;
                case 2:
                    File.WriteAllBytes(Path.Combine(folder, "model.safetensors"),
                        SafeTensorsMutator.Mutate(File.ReadAllBytes(Path.Combine(src, "model.safetensors")), headers, rng, out how));
                    how = "model.safetensors: " + how;
                    break;
                default:
                    // Weights that decode to non-finite values: the depth they give once broke the JSON writer.
                    File.WriteAllBytes(Path.Combine(folder, "model.safetensors"), SafeTensorsMutator.Poison(File.ReadAllBytes(Path.Combine(src, "model.safetensors")), rng, out how));
                    how = "model.safetensors: " + how;
                    break;
            }
            string label = $"variant {v} of {model} ({how})";

            var inspect = CliProcess.Run(TimeSpan.FromMinutes(2), "inspect", folder);
            Check(label, "inspect", inspect, outcomes);
            if (inspect.Code == 0) JsonDocument.Parse(inspect.Stdout).Dispose();

            string outDir = Path.Combine(_dir, $"out{v}");
            var estimate = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Path.Combine(src, "image0.png"), "--model", folder, "--output", outDir, "--format", "npy", "color");
            Check(label, "estimate", estimate, outcomes);
            if (estimate.Code == 0) JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "image0.json"))).Dispose();
            else Assert.True(!Directory.Exists(outDir) || !Directory.EnumerateFileSystemEntries(outDir).Any(), $"{label}: estimate failed but wrote {string.Join(", ", Directory.EnumerateFileSystemEntries(outDir))}");
        }
        foreach (var (outcome, count) in outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
            output.WriteLine($"{count,4}  {outcome}");
        Assert.Equal(2 * variants, outcomes.Values.Sum());
    }

    private static void Check(string label, string command, (int Code, string Stdout, string Stderr) run, Dictionary<string, int> outcomes)
    {
        string all = run.Stdout + run.Stderr;
        Assert.False(all.Contains("   at ", StringComparison.Ordinal) || all.Contains("Unhandled exception", StringComparison.Ordinal),
            $"{label}: depthsharp {command} printed a stack trace (exit {run.Code}):\n{all}");
        Assert.True(run.Code is 0 or 1, $"{label}: depthsharp {command} exited with {run.Code}:\n{all}");
        string outcome = $"{command} exit {run.Code}";
        if (run.Code == 1)
        {
            var errors = run.Stderr.Split('\n').Where(l => l.StartsWith("error: ", StringComparison.Ordinal)).ToList();
            Assert.True(errors.Count == 1, $"{label}: depthsharp {command} failed without one error line:\n{run.Stderr}");
            // Which error: the exception's kind is not printed, so name the file the message starts with.
            string rest = errors[0]["error: ".Length..], named = rest[..Math.Max(0, rest.IndexOf(": ", StringComparison.Ordinal))];
            outcome += ": " + (Directory.Exists(named) ? "the model folder" : Path.GetFileName(named));
        }
        outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
    }
}
