using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>
/// Prompt Depth Anything against the reference on the tiny fixture, stage by stage, with and without the prompt, on the
/// fast kernels and on the reference ones; and the prompts the model refuses.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public class PromptDepthAnythingModelTests(ITestOutputHelper output)
{
    private const string Case = "prompt_depth_anything_tiny";

    private static string Dir => Fixtures.Path("models", Case);

    private static readonly Lazy<PromptDepthAnythingForDepthEstimation> Model = new(() => PromptDepthAnythingForDepthEstimation.FromPretrained(Dir));

    private void AssertClose(string name, Tensor expected, Tensor actual)
    {
        Tolerance.AssertModelClose(name, expected, actual);
        output.WriteLine($"ok: {name}: {Tolerance.DescribeModel(expected, actual)}");
    }

    private static int StageOrder(string key) =>
        key.Contains(".embeddings", StringComparison.Ordinal) ? 0 : key.Contains(".encoder.", StringComparison.Ordinal) ? 1
        : key.StartsWith("module.backbone.", StringComparison.Ordinal) ? 2 : key.Contains(".reassemble_stage.", StringComparison.Ordinal) ? 3
        : key.StartsWith("module.neck", StringComparison.Ordinal) ? 4 : 5;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardMatchesReferenceAtEveryStage(bool forceReference)
    {
        using var options = new KernelTestHelpers.Options(threads: 2);
        KernelOptions.ForceReference = forceReference;
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        Tensor depth;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            depth = Model.Value.Forward(expected.Read("pixel_values"), expected.Read("prompt_depth"));

        // Stages in model order, so the first disagreeing module is the one reported.
        var stages = expected.Entries.Keys.Where(k => k.StartsWith("module.", StringComparison.Ordinal)).ToList();
        Assert.Contains("module.neck.fusion_stage.layers.0.prompt_depth_layer", stages);
        foreach (var key in stages.OrderBy(StageOrder).ThenBy(k => k, StringComparer.Ordinal))
        {
            string path = key["module.".Length..];
            Assert.True(traced.TryGetValue(path, out var actual), $"{key}: the model recorded no such stage");
            AssertClose(key, expected.Read(key), actual);
        }
        AssertClose("predicted_depth", expected.Read("predicted_depth"), depth);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WithoutAPromptTheOutputIsTheHeads(bool forceReference)
    {
        using var options = new KernelTestHelpers.Options(threads: 2);
        KernelOptions.ForceReference = forceReference;
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var traced = new Dictionary<string, Tensor>();
        Tensor depth;
        using (ActivationTrace.Capture((path, t) => traced[path] = t))
            depth = Model.Value.Forward(expected.Read("pixel_values"));
        AssertClose("no_prompt.predicted_depth", expected.Read("no_prompt.predicted_depth"), depth);
        Assert.DoesNotContain(traced.Keys, k => k.EndsWith(".prompt_depth_layer", StringComparison.Ordinal));
        // The released checkpoints end in a sigmoid and nothing scales it back without a prompt.
        Assert.All(depth.Data, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void TheOutputComesBackInThePromptsUnit()
    {
        // Normalisation makes the fused features independent of the prompt's unit and offset, so a prompt in millimetres
        // gives the same map a thousand times larger.
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var pixels = expected.Read("pixel_values");
        var metres = expected.Read("prompt_depth");
        var millimetres = new Tensor(metres.Data.Select(v => v * 1000f).ToArray(), metres.Shape);
        var inMetres = Model.Value.Forward(pixels, metres);
        var inMillimetres = Model.Value.Forward(pixels, millimetres);
        Tolerance.AssertModelClose("depth from a millimetre prompt / 1000",
            inMetres, new Tensor(inMillimetres.Data.Select(v => v / 1000f).ToArray(), inMillimetres.Shape));
    }

    public static TheoryData<string, int[], string> BadPrompts => new()
    {
        { "rank 3", [1, 24, 32], "[batch, 1, height, width]" },
        { "two channels", [1, 2, 24, 32], "[batch, 1, height, width]" },
        { "batch of two for one picture", [2, 1, 24, 32], "2 prompt(s) for a batch of 1" },
        { "NaN", [1, 1, 24, 32], "non-finite value (NaN) at row 3, column 5" },
        { "infinity", [1, 1, 24, 32], "non-finite value (Infinity) at row 3, column 5" },
        { "constant", [1, 1, 24, 32], "constant (every value is 1.5)" },
        { "empty", [1, 1, 0, 32], "empty" },
    };

    [Theory]
    [MemberData(nameof(BadPrompts))]
    public void BadPromptsAreRefusedBeforeTheBackboneRuns(string what, int[] shape, string message)
    {
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var prompt = Tensor.Zeros(shape);
        for (int i = 0; i < prompt.Data.Length; i++) prompt.Data[i] = what == "constant" ? 1.5f : i % 7;
        if (what == "NaN") prompt.Data[3 * 32 + 5] = float.NaN;
        if (what == "infinity") prompt.Data[3 * 32 + 5] = float.PositiveInfinity;
        var steps = new List<ModelProgress>();
        var e = Assert.Throws<PromptDepthException>(() =>
            Model.Value.Forward(expected.Read("pixel_values"), prompt, new SynchronousProgress(steps.Add)));
        Assert.Contains(message, e.Message);
        Assert.Empty(steps);
    }

    [Fact]
    public void ProgressCountsEveryStep()
    {
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var steps = new List<ModelProgress>();
        Model.Value.Forward(expected.Read("pixel_values"), expected.Read("prompt_depth"), new SynchronousProgress(steps.Add));
        Assert.Equal(Model.Value.ForwardSteps, steps.Count);
        Assert.Equal(Enumerable.Range(1, steps.Count), steps.Select(s => s.Step));
        Assert.Equal("head", steps[^1].Stage);
    }

    [Fact]
    public void ACancelledPassStops()
    {
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Model.Value.Forward(expected.Read("pixel_values"), expected.Read("prompt_depth"), cancellationToken: cancel.Token));
    }

    /// <summary>
    /// With every buffer pooled, a map released while still read would be handed to the next tensor of its size and change
    /// the output: a batch of two on an odd grid (fusion maps a pixel apart), with a prompt and without, gives the same
    /// bits pooled, twice over, as unpooled.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PooledBuffersChangeNothing(bool withPrompt)
    {
        var rng = new Random(5);
        var pixels = Tensor.Empty(2, 3, 70, 126);
        for (int i = 0; i < pixels.Data.Length; i++) pixels.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        var prompt = Tensor.Empty(2, 1, 13, 21);
        for (int i = 0; i < prompt.Data.Length; i++) prompt.Data[i] = (float)(rng.NextDouble() * 4);
        long saved = TensorPool.MinBytes;
        try
        {
            TensorPool.MinBytes = long.MaxValue;
            var expected = Model.Value.Forward(pixels, withPrompt ? prompt : null).Data;
            Assert.Contains(expected, v => v != 0f);
            TensorPool.MinBytes = 1;
            for (int pass = 0; pass < 2; pass++)
                Assert.True(expected.AsSpan().SequenceEqual(Model.Value.Forward(pixels, withPrompt ? prompt : null).Data), $"pass {pass} with pooled buffers differs");
        }
        finally
        {
            TensorPool.MinBytes = saved;
            TensorPool.DropIdle();
        }
    }

    [Fact]
    public void EachImageIsScaledByItsOwnPrompt()
    {
        // A batch of two: the same picture, prompts of different ranges; each output is the single-image one.
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var pixels = expected.Read("pixel_values");
        var prompt = expected.Read("prompt_depth");
        var shifted = new Tensor(prompt.Data.Select(v => 2 * v + 3).ToArray(), prompt.Shape);
        var single0 = Model.Value.Forward(pixels, prompt);
        var single1 = Model.Value.Forward(pixels, shifted);
        var batch = Model.Value.Forward(Ops.Concat(0, pixels, pixels), Ops.Concat(0, prompt, shifted));
        int plane = single0.Data.Length;
        Tolerance.AssertModelClose("batch[0]", single0, new Tensor(batch.Data[..plane], single0.Shape));
        Tolerance.AssertModelClose("batch[1]", single1, new Tensor(batch.Data[plane..], single1.Shape));
        Tolerance.AssertModelClose("prompt 2p + 3 gives 2d + 3", single1, new Tensor(single0.Data.Select(v => 2 * v + 3).ToArray(), single0.Shape));
    }

    private sealed class SynchronousProgress(Action<ModelProgress> report) : IProgress<ModelProgress>
    {
        public void Report(ModelProgress value) => report(value);
    }
}
