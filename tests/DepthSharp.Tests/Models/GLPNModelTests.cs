using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>GLPN against the reference, stage by stage, on the tiny fixture; with both kernel sets (so run alone).</summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class GLPNModelTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Dir = Fixtures.Path("models", "glpn_tiny");
    private readonly string _temp = Directory.CreateTempSubdirectory("depthsharp-glpn-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardMatchesReferenceAtEveryStage(bool forceReference)
    {
        using var kernels = KernelOptions.UseReference(forceReference);
        var model = GLPNForDepthEstimation.FromPretrained(Dir);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        Tensor depth;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            depth = model.Forward(expected.Read("pixel_values"));

        // Stages in model order, so the first disagreeing module is the one reported.
        var stages = expected.Entries.Keys.Where(k => k.StartsWith("module.", StringComparison.Ordinal)).ToList();
        Assert.Equal(13, stages.Count);
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

    /// <summary>Encoder stage by stage (embeddings, layers, norm), then decoder stage by stage (fusion, output), then the head.</summary>
    private static (int, int, int) StageOrder(string key)
    {
        var parts = key.Split('.');
        int Index(int at) => int.Parse(parts[at], System.Globalization.CultureInfo.InvariantCulture);
        return parts[1] switch
        {
            // module.glpn.encoder.{patch_embeddings|block|layer_norm}.{stage}...
            "glpn" => (0, Index(4), parts[3] switch { "patch_embeddings" => 0, "block" => 1, _ => 2 }),
            // module.decoder.stages.{i}.fusion comes before module.decoder.{i}.
            "decoder" => parts[2] == "stages" ? (1, Index(3), 0) : (1, Index(2), 1),
            _ => (2, 0, 0),
        };
    }

    [Fact]
    public void ForwardReportsEveryStepAndStopsWhenCancelled()
    {
        var model = GLPNForDepthEstimation.FromPretrained(Dir);
        // depths 1 + 1 + 2 + 1, four decoder stages, the head.
        Assert.Equal(10, model.ForwardSteps);
        var steps = new List<ModelProgress>();
        var pixels = Tensor.Zeros(1, 3, 64, 96);
        var depth = model.Forward(pixels, new SyncProgress(steps.Add));
        Assert.Equal([1, 64, 96], depth.Shape);
        Assert.Equal(Enumerable.Range(1, 10), steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.Equal(10, s.TotalSteps));
        Assert.Equal(["encoder", "encoder", "encoder", "encoder", "encoder", "decoder", "decoder", "decoder", "decoder", "head"], steps.Select(s => s.Stage));

        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Step == 3) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => model.Forward(pixels, progress, cts.Token));
    }

    [Theory]
    [InlineData(1, 3, 100, 150)]  // not multiples of 32: the decoder's doubling misses
    [InlineData(1, 3, 64, 16)]    // the first stage's 4-wide map is narrower than its reduction ratio 8
    [InlineData(1, 4, 64, 64)]    // channels
    public void InputsTheStagesCannotJoinAreRefusedBeforeAnyWork(int batch, int channels, int h, int w)
    {
        var model = GLPNForDepthEstimation.FromPretrained(Dir);
        var steps = 0;
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(batch, channels, h, w), new SyncProgress(_ => steps++)));
        output.WriteLine(e.Message);
        Assert.Equal(0, steps);
    }

    [Fact]
    public void HeadInIndexPicksTheDecoderOutputTheHeadReads()
    {
        // head_in_index 1: the second stage's output, upsampled from 1/16 to 1/8 of the input.
        string configText = File.ReadAllText(Path.Combine(Dir, "config.json"));
        Assert.Contains("\"head_in_index\": -1", configText);
        File.WriteAllText(Path.Combine(_temp, "config.json"), configText.Replace("\"head_in_index\": -1", "\"head_in_index\": 1"));
        File.Copy(Path.Combine(Dir, "model.safetensors"), Path.Combine(_temp, "model.safetensors"));
        var model = GLPNForDepthEstimation.FromPretrained(_temp);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var depth = model.Forward(expected.Read("pixel_values"));
        Assert.Equal([1, 12, 16], depth.Shape);
        Assert.All(depth.Data, v => Assert.InRange(v, 0f, 10f));
    }

    [Fact]
    public void ACheckpointThatDoesNotFitTheConfigIsRefusedByTensorName()
    {
        string configText = File.ReadAllText(Path.Combine(Dir, "config.json"));
        // One more layer in the last stage than the checkpoint holds.
        File.WriteAllText(Path.Combine(_temp, "config.json"), configText.Replace("\"depths\": [\n    1,\n    1,\n    2,\n    1\n  ]", "\"depths\": [\n    1,\n    1,\n    2,\n    2\n  ]"));
        File.Copy(Path.Combine(Dir, "model.safetensors"), Path.Combine(_temp, "model.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => GLPNForDepthEstimation.FromPretrained(_temp));
        Assert.Contains("missing tensor 'glpn.encoder.block.3.1.mlp.dwconv.dwconv.weight'", e.Message);
    }

    [Fact]
    public void AFolderWithoutConfigIsAConfigException()
    {
        var e = Assert.Throws<ConfigException>(() => GLPNForDepthEstimation.FromPretrained(_temp));
        Assert.Contains("config.json", e.Message);
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, too late for an assertion).</summary>
    private sealed class SyncProgress(Action<ModelProgress> report) : IProgress<ModelProgress>
    {
        public void Report(ModelProgress value) => report(value);
    }
}
