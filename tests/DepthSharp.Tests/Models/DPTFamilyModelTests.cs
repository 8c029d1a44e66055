using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>Depth Anything and DPT (ViT, hybrid BiT, BEiT and Swin V2 backbones) against the reference, stage by stage, on the tiny fixtures.</summary>
public class DPTFamilyModelTests(ITestOutputHelper output)
{
    private static readonly string[] Names =
        ["depth_anything_tiny_relative", "depth_anything_tiny_metric", "dpt_tiny", "dpt_hybrid_tiny", "dpt_beit_tiny", "dpt_swinv2_tiny"];

    /// <summary>Each case on the fast kernels and on the plain reference loops.</summary>
    public static TheoryData<string, bool> CasesOnBothKernels()
    {
        var data = new TheoryData<string, bool>();
        foreach (string name in Names)
            foreach (bool reference in new[] { false, true }) data.Add(name, reference);
        return data;
    }

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
    [MemberData(nameof(CasesOnBothKernels))]
    public void ForwardMatchesReferenceAtEveryStage(string name, bool referenceKernels)
    {
        using var kernels = KernelOptions.UseReference(referenceKernels);
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
        key.Contains(".embeddings", StringComparison.Ordinal) ? 0
        : key.Contains(".encoder.", StringComparison.Ordinal) || key.StartsWith("module.backbone.", StringComparison.Ordinal) ? 1
        : key.StartsWith("module.neck", StringComparison.Ordinal) ? 2 : 3;
}
