using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>Depth Anything and DPT against the reference, stage by stage, on the tiny fixtures.</summary>
public class DPTFamilyModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new() { "depth_anything_tiny_relative", "depth_anything_tiny_metric", "dpt_tiny" };

    /// <summary>Builds the fixture's model strictly and returns its forward pass.</summary>
    internal static Func<Tensor, Tensor> Load(string name)
    {
        string dir = Fixtures.Path("models", name);
        if (ConfigLoader.ReadModelType(Path.Combine(dir, "config.json")) == "dpt")
        {
            var dpt = DPTForDepthEstimation.FromPretrained(dir);
            return x => dpt.Forward(x);
        }
        var depthAnything = DepthAnythingForDepthEstimation.FromPretrained(dir);
        return x => depthAnything.Forward(x);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesReferenceAtEveryStage(string name)
    {
        var forward = Load(name);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", name, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        Tensor depth;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            depth = forward(expected.Read("pixel_values"));

        // Stages in model order, so the first disagreeing module is the one reported.
        var stages = expected.Entries.Keys.Where(k => k.StartsWith("module.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(stages);
        foreach (var key in stages.OrderBy(StageOrder).ThenBy(k => k, StringComparer.Ordinal))
        {
            string path = key["module.".Length..];
            Assert.True(traced.TryGetValue(path, out var actual), $"{key}: the model recorded no such stage");
            Tolerance.AssertModelClose(key, expected.Read(key), actual);
            output.WriteLine($"ok: {key}: {Tolerance.DescribeModel(expected.Read(key), actual)}");
        }
        Tolerance.AssertModelClose("predicted_depth", expected.Read("predicted_depth"), depth);
        output.WriteLine($"ok: predicted_depth: {Tolerance.DescribeModel(expected.Read("predicted_depth"), depth)}");
    }

    private static int StageOrder(string key) =>
        key.Contains(".embeddings", StringComparison.Ordinal) ? 0 : key.Contains(".encoder.", StringComparison.Ordinal) ? 1
        : key.StartsWith("module.neck", StringComparison.Ordinal) ? 2 : 3;
}
