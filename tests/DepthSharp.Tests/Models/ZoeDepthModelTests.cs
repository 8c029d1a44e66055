using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

public class ZoeDepthModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new() { "zoedepth_tiny_n_normed", "zoedepth_tiny_nk" };

    internal static ZoeDepthForDepthEstimation LoadModel(string name)
    {
        string dir = Fixtures.Path("models", name);
        var config = ConfigLoader.LoadZoeDepth(Path.Combine(dir, "config.json"));
        using var checkpoint = Checkpoint.OpenDirectory(dir);
        var source = new CheckpointWeights(checkpoint);
        var model = new ZoeDepthForDepthEstimation(new Weights(source), config);
        source.Finish();
        return model;
    }

    /// <summary>Asserts the fixtures' rule and logs the relative L2 error, so reports can quote it.</summary>
    private void AssertClose(string name, Tensor expected, Tensor actual)
    {
        Tolerance.AssertModelClose(name, expected, actual);
        double mean = expected.Data.Average(v => (double)v), num = 0, den = 0;
        for (int i = 0; i < expected.Data.Length; i++)
        {
            num += Math.Pow(actual.Data[i] - expected.Data[i], 2);
            den += Math.Pow(expected.Data[i] - mean, 2);
        }
        output.WriteLine($"ok: {name} relative L2 {(den > 0 ? Math.Sqrt(num / den) : Math.Sqrt(num)):E2}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesReferenceAtEveryStage(string name)
    {
        var model = LoadModel(name);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", name, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        ZoeDepthOutput result;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            result = model.Forward(expected.Read("pixel_values"));

        // Stages in model order, so the first disagreeing module is the one reported.
        string[] order = ["module.backbone.", "module.neck.", "module.relative_head.", "module.metric_head."];
        var keys = expected.Entries.Keys.Where(k => k.StartsWith("module.", StringComparison.Ordinal))
            .OrderBy(k => Array.FindIndex(order, p => k.StartsWith(p, StringComparison.Ordinal)) is int i and >= 0 ? i : order.Length)
            .ThenBy(k => k, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            string path = key["module.".Length..];
            Assert.True(traced.TryGetValue(path, out var actual), $"{key}: the model recorded no such stage");
            AssertClose(key, expected.Read(key), actual);
        }
        AssertClose("predicted_depth", expected.Read("predicted_depth"), result.PredictedDepth);
        if (expected.Entries.ContainsKey("domain_logits"))
        {
            AssertClose("domain_logits", expected.Read("domain_logits"), result.DomainLogits!);
            Assert.Contains(result.Domain, model.Config.BinConfigurations.Select(b => b.Name));
        }
        else
            Assert.Null(result.DomainLogits);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FlippedInputMatchesReference(string name)
    {
        var model = LoadModel(name);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", name, "expected.safetensors"));
        var result = model.Forward(Ops.FlipLastDim(expected.Read("pixel_values")));
        AssertClose("flipped.predicted_depth", expected.Read("flipped.predicted_depth"), result.PredictedDepth);
    }
}
