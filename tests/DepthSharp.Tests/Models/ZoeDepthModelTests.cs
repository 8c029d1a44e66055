using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

public class ZoeDepthModelTests(ITestOutputHelper output)
{
    private static readonly string[] Names = ["zoedepth_tiny_n_normed", "zoedepth_tiny_nk"];

    internal static ZoeDepthForDepthEstimation LoadModel(string name) => ZoeDepthForDepthEstimation.FromPretrained(Fixtures.Path("models", name));

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

    /// <summary>Each case on the fast kernels and on the plain reference loops.</summary>
    public static TheoryData<string, bool> CasesOnBothKernels()
    {
        var data = new TheoryData<string, bool>();
        foreach (string name in Names)
            foreach (bool reference in new[] { false, true }) data.Add(name, reference);
        return data;
    }

    /// <summary>Everything up to the metric head, and the router, by the fixtures' rule.</summary>
    [Theory]
    [MemberData(nameof(CasesOnBothKernels))]
    public void StagesAndRouterMatchReference(string name, bool referenceKernels)
    {
        using var kernels = KernelOptions.UseReference(referenceKernels);
        var model = LoadModel(name);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", name, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        ZoeDepthOutput result;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            result = model.Forward(expected.Read("pixel_values"));

        // Stages in model order, so the first disagreeing module is the one reported.
        string[] order = ["module.backbone.", "module.neck.", "module.relative_head.", "module.metric_head."];
        var keys = expected.Entries.Keys.Where(k => k.StartsWith("module.", StringComparison.Ordinal) && k != "module.metric_head.0")
            .OrderBy(k => Array.FindIndex(order, p => k.StartsWith(p, StringComparison.Ordinal)) is int i and >= 0 ? i : order.Length)
            .ThenBy(k => k, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            string path = key["module.".Length..];
            Assert.True(traced.TryGetValue(path, out var actual), $"{key}: the model recorded no such stage");
            AssertClose(key, expected.Read(key), actual);
        }
        Assert.True(traced.ContainsKey("metric_head.0"));
        Assert.Equal(expected.Read("predicted_depth").Shape, result.PredictedDepth.Shape);
        if (expected.Entries.ContainsKey("domain_logits"))
        {
            AssertClose("domain_logits", expected.Read("domain_logits"), result.DomainLogits!);
            // The reference's choice: the larger summed logit.
            var logits = expected.Read("domain_logits").Data;
            int best = logits[1] > logits[0] ? 1 : 0;
            Assert.Equal(model.Config.BinConfigurations[best].Name, result.Domain);
        }
        else
        {
            Assert.Null(result.DomainLogits);
            Assert.Equal(model.Config.BinConfigurations[0].Name, result.Domain);
        }
    }

    [Theory]
    [MemberData(nameof(CasesOnBothKernels))]
    public void MetricDepthMatchesReference(string name, bool referenceKernels)
    {
        using var kernels = KernelOptions.UseReference(referenceKernels);
        var model = LoadModel(name);
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", name, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        ZoeDepthOutput result;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            result = model.Forward(expected.Read("pixel_values"));
        AssertClose("module.metric_head.0", expected.Read("module.metric_head.0"), traced["metric_head.0"]);
        AssertClose("predicted_depth", expected.Read("predicted_depth"), result.PredictedDepth);
        var flipped = model.Forward(Ops.FlipLastDim(expected.Read("pixel_values")));
        AssertClose("flipped.predicted_depth", expected.Read("flipped.predicted_depth"), flipped.PredictedDepth);
    }

    /// <summary>A batch is routed as a whole: two copies of a picture get the head and depth the picture gets alone.</summary>
    [Fact]
    public void BatchGetsOneHeadAndPerPictureDepth()
    {
        var model = LoadModel("zoedepth_tiny_nk");
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", "zoedepth_tiny_nk", "expected.safetensors"));
        var pixels = expected.Read("pixel_values");
        var single = model.Forward(pixels);
        var pair = model.Forward(Ops.Concat(0, pixels, Ops.FlipLastDim(pixels)));
        Assert.Equal([2, 2], pair.DomainLogits!.Shape);
        Assert.NotNull(pair.Domain);
        if (pair.Domain == single.Domain)
            Tolerance.AssertModelClose("batch[0]", single.PredictedDepth, Ops.Narrow(pair.PredictedDepth, 0, 0, 1));
    }
}
