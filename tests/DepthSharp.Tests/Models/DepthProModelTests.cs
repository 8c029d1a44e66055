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
        return (DepthProForDepthEstimation.FromPretrained(dir), SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors")));
    }

    [Theory]
    [InlineData(13, 11)]
    [InlineData(1, 4)]
    [InlineData(8, 3)]
    public void HeadInRowBandsEqualsTheWholeMap(int h, int w)
    {
        var (model, expected) = Load("depth_pro_tiny");
        expected.Dispose();
        var head = model.Head;
        int f = head.Conv1.Weight.Dim(1);
        var rng = new Random(4);
        var x = Tensor.Empty(2, f, h, w);
        for (int i = 0; i < x.Data.Length; i++) x.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        head.BandBytes = long.MaxValue;
        var whole = head.Forward(x);
        var scale = whole.Data.Max(MathF.Abs);
        Assert.True(scale > 0);
        // Bytes per band row: two upsampled rows of the batch; bands of 1, 2 and 3 rows.
        long row = 2L * 2 * w * head.Upsample.Weight.Dim(1) * 2 * sizeof(float);
        foreach (int rows in new[] { 1, 2, 3 })
        {
            head.BandBytes = row * (rows + 2);
            var banded = head.Forward(x);
            Assert.Equal(whole.Shape, banded.Shape);
            double maxDiff = whole.Data.Zip(banded.Data, (p, q) => Math.Abs(p - q)).Max();
            Assert.True(maxDiff <= 1e-5 * scale, $"bands of {rows} rows: max |Δ| {maxDiff:E3} vs scale {scale:E3}");
        }
    }

    [Fact]
    public void FeatureExtractionGivesTheReferencesIntermediateOutputs()
    {
        var (model, expected) = Load("depth_pro_tiny");
        using var _ = expected;
        var features = model.ExtractFeatures(expected.Read("pixel_values"), includeFusion: true);
        Assert.Equal(model.Config.ImageModel.NumHiddenLayers + 1, features.ImageEncoderHiddenStates.Count);
        Tolerance.AssertModelClose("hidden state 0", expected.Read("module.depth_pro.encoder.image_encoder.model.embeddings"), features.ImageEncoderHiddenStates[0]);
        Tolerance.AssertModelClose("hidden state 1", expected.Read("module.depth_pro.encoder.image_encoder.model.encoder.layer.0"), features.ImageEncoderHiddenStates[1]);
        for (int i = 0; i < features.Features.Count; i++)
            if (expected.Entries.ContainsKey($"module.depth_pro.neck.{i}"))
                Tolerance.AssertModelClose($"features[{i}]", expected.Read($"module.depth_pro.neck.{i}"), features.Features[i]);
        Assert.Equal(model.FusionStage.Intermediate.Length + 1, features.FusionOutputs!.Count);
        for (int i = 0; i < model.FusionStage.Intermediate.Length; i++)
            if (expected.Entries.ContainsKey($"module.fusion_stage.intermediate.{i}"))
                Tolerance.AssertModelClose($"fusion[{i}]", expected.Read($"module.fusion_stage.intermediate.{i}"), features.FusionOutputs[i]);
        // The head on the last fusion output gives the model's depth.
        Tolerance.AssertModelClose("head(fusion[^1])", expected.Read("predicted_depth"), model.Head.Forward(features.FusionOutputs[^1]));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardMatchesReferenceAtEveryStage(string name) => ForwardMatchesReference(name, rowBands: false);

    /// <summary>
    /// The fixtures' maps are far smaller than a band, so here the fusion layers and the head work in one-row bands; the
    /// stage's fused last layers, used only when no stage is traced, are checked on the untraced outputs.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardInRowBandsMatchesReferenceAtEveryStage(string name) => ForwardMatchesReference(name, rowBands: true);

    private void ForwardMatchesReference(string name, bool rowBands)
    {
        var (model, expected) = Load(name);
        using var _ = expected;
        if (rowBands)
        {
            foreach (var layer in model.FusionStage.Intermediate.Append(model.FusionStage.Final)) layer.BandBytes = 1;
            model.Head.BandBytes = 1;
        }
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
        AssertOutputsMatch(expected, result);
        if (rowBands) AssertOutputsMatch(expected, model.Forward(expected.Read("pixel_values")));
    }

    private static void AssertOutputsMatch(SafeTensorsFile expected, DepthProOutput result)
    {
        Tolerance.AssertModelClose("predicted_depth", expected.Read("predicted_depth"), result.PredictedDepth);
        if (expected.Entries.ContainsKey("field_of_view"))
            Tolerance.AssertModelClose("field_of_view", expected.Read("field_of_view"), result.FieldOfView!);
        else
            Assert.Null(result.FieldOfView);
    }
}
