using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

public class DepthProModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new() { "depth_pro_tiny", "depth_pro_tiny_nofov_f16", "depth_pro_tiny_batch2_bf16_sharded" };

    private static (DepthProForDepthEstimation Model, SafeTensorsFile Expected) Load(string name)
    {
        string dir = Fixtures.Path("models", name);
        var config = ConfigLoader.LoadDepthPro(Path.Combine(dir, "config.json"));
        using var checkpoint = Checkpoint.OpenDirectory(dir);
        var source = new CheckpointWeights(checkpoint);
        var model = new DepthProForDepthEstimation(new Weights(source), config);
        source.Finish(DepthProForDepthEstimation.IgnoredUnusedPrefixes);
        return (model, SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors")));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesReferenceAtEveryStage(string name)
    {
        var (model, expected) = Load(name);
        using var _ = expected;
        var traced = new Dictionary<string, Tensor>();
        DepthProOutput result;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            result = model.Forward(expected.Read("pixel_values"));

        // Stages first, in model order, so the first disagreeing module is the one reported.
        foreach (var key in expected.Entries.Keys.Where(k => k.StartsWith("module.", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            string path = key["module.".Length..];
            Assert.True(traced.TryGetValue(path, out var actual), $"{key}: the model recorded no such stage");
            Tolerance.AssertModelClose(key, expected.Read(key), actual);
            output.WriteLine($"ok: {key}");
        }
        Tolerance.AssertModelClose("predicted_depth", expected.Read("predicted_depth"), result.PredictedDepth);
        if (expected.Entries.ContainsKey("field_of_view"))
            Tolerance.AssertModelClose("field_of_view", expected.Read("field_of_view"), result.FieldOfView!);
        else
            Assert.Null(result.FieldOfView);
    }
}
