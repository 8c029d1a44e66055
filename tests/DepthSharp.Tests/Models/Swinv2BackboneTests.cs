using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>The Swin V2 backbone against the reference on the dpt_swinv2_tiny fixture, stage by stage, on both kernel paths.</summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class Swinv2BackboneTests(ITestOutputHelper output)
{
    private const string Case = "dpt_swinv2_tiny";

    /// <summary>The fixture's backbone, built strictly from its tensors under "backbone." (the DPT neck and head are left unread).</summary>
    internal static Swinv2Backbone Load(Swinv2Config? config = null)
    {
        string dir = Fixtures.Path("models", Case);
        config ??= BackboneConfigFiles.Swinv2(Path.Combine(dir, "config.json"));
        using var checkpoint = Checkpoint.OpenDirectory(dir);
        var source = new CheckpointWeights(checkpoint);
        var backbone = new Swinv2Backbone(new Weights(source)["backbone"], config);
        source.Finish("neck.", "head.");
        return backbone;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardMatchesReferenceAtEveryStage(bool forceReference)
    {
        bool saved = KernelOptions.ForceReference;
        try
        {
            KernelOptions.ForceReference = forceReference;
            var backbone = Load();
            using var expected = SafeTensorsFile.Open(Fixtures.Path("models", Case, "expected.safetensors"));
            var traced = new Dictionary<string, Tensor>();
            Tensor[] maps;
            using (ActivationTrace.Capture((path, t) => traced[path] = t))
                maps = backbone.Forward(expected.Read("pixel_values"));

            // In model order, so that the first stage that disagrees is the one reported.
            var stages = expected.Entries.Keys.Where(k => k.StartsWith("module.backbone.", StringComparison.Ordinal))
                .OrderBy(StageOrder).ThenBy(k => k, StringComparer.Ordinal).ToList();
            Assert.Equal(14, stages.Count);
            foreach (var key in stages)
            {
                string path = key["module.".Length..];
                Assert.True(traced.TryGetValue(path, out var actual), $"{key}: the model recorded no such stage");
                Tolerance.AssertModelClose(key, expected.Read(key), actual);
                output.WriteLine($"ok: {key}: {Tolerance.DescribeModel(expected.Read(key), actual)}");
            }
            Assert.Equal(4, maps.Length);
            for (int i = 0; i < maps.Length; i++) Tolerance.AssertModelClose($"feature map {i}", expected.Read($"module.backbone.0.{i}"), maps[i]);
        }
        finally
        {
            KernelOptions.ForceReference = saved;
        }
    }

    private static int StageOrder(string key) =>
        key.Contains(".embeddings.", StringComparison.Ordinal) ? 0 : key.Contains(".encoder.", StringComparison.Ordinal) ? 1
        : key.StartsWith("module.backbone.1.", StringComparison.Ordinal) ? 2 : 3;

    [Fact]
    public void TheFixtureClampsALogitScaleAboveLog100()
    {
        // case.json: block 0 of stage 1 has logit_scale[0] = 5.0 on purpose; the clamp makes its scale 100, not e⁵.
        var attention = Load().Encoder.Layers[0].Blocks[0].Attention.Self;
        Assert.Equal(5f, attention.LogitScale.Data[0]);
        Assert.Equal(100f, attention.HeadScales[0], 1e-3f);
    }

    [Fact]
    public void WindowsAndShiftsComeFromTheConfiguredImageSize()
    {
        // image_size 64, patch 4: build-time maps 16, 8, 4, 2 against window 4, whatever the pictures later fed. A map no
        // wider than the window is one unshifted window (stage 3), and a map smaller than it shrinks the window (stage 4).
        var layers = Load().Encoder.Layers;
        (int Window, int Shift)[][] expected =
        [
            [(4, 0), (4, 2)], [(4, 0), (4, 2)], [(4, 0), (4, 0)], [(2, 0)],
        ];
        for (int s = 0; s < layers.Length; s++)
            Assert.Equal(expected[s], layers[s].Blocks.Select(b => (b.WindowSize, b.ShiftSize)).ToArray());
    }

    [Theory]
    [InlineData(1, 72, 88)]
    [InlineData(2, 61, 50)]
    [InlineData(1, 4, 4)]
    public void PicturesOfAnySizeGiveMapsOfTheReferenceSizes(int batch, int height, int width)
    {
        // Patches round up (the picture is padded); each merge rounds up again (odd maps are padded).
        var maps = Load().Forward(Input(batch, height, width));
        int h = (height + 3) / 4, w = (width + 3) / 4;
        int[] channels = [12, 24, 48, 96];
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal([batch, channels[i], h, w], maps[i].Shape);
            Assert.All(maps[i].Data, v => Assert.True(float.IsFinite(v)));
            (h, w) = ((h + 1) / 2, (w + 1) / 2);
        }
    }

    [Fact]
    public void FastAndReferenceKernelsAgreeOnAPaddedInput()
    {
        // 72×88 pixels: maps of 18×22, 9×11, 5×6 and 3×3 tokens, none a whole number of windows.
        var input = Input(1, 72, 88);
        bool saved = KernelOptions.ForceReference;
        try
        {
            KernelOptions.ForceReference = true;
            var reference = Load().Forward(input);
            KernelOptions.ForceReference = false;
            var fast = Load().Forward(input);
            for (int i = 0; i < fast.Length; i++) Tolerance.AssertModelClose($"feature map {i}", reference[i], fast[i]);
        }
        finally
        {
            KernelOptions.ForceReference = saved;
        }
    }

    [Fact]
    public void EveryBufferPooledGivesTheSameBits()
    {
        // With every buffer pooled, a map released while still read would be handed to the next tensor of its size.
        var backbone = Load();
        var input = Input(2, 61, 50);
        long saved = TensorPool.MinBytes;
        try
        {
            TensorPool.MinBytes = long.MaxValue;
            var expected = backbone.Forward(input);
            TensorPool.MinBytes = 1;
            for (int pass = 0; pass < 2; pass++)
            {
                var actual = backbone.Forward(input);
                for (int i = 0; i < expected.Length; i++)
                    Assert.True(expected[i].Data.AsSpan().SequenceEqual(actual[i].Data), $"pass {pass}: feature map {i} differs pooled");
            }
        }
        finally
        {
            TensorPool.MinBytes = saved;
            TensorPool.DropIdle();
        }
    }

    [Fact]
    public void ProgressCountsEveryBlock()
    {
        var backbone = Load();
        var steps = new List<ModelProgress>();
        var progress = new SynchronousProgress(steps.Add);
        _ = backbone.Forward(Input(1, 64, 64), new ForwardContext(backbone.ForwardSteps, progress), "backbone");
        Assert.Equal(7, backbone.ForwardSteps);
        Assert.Equal(Enumerable.Range(1, 7), steps.Select(s => s.Step));
    }

    private sealed class SynchronousProgress(Action<ModelProgress> report) : IProgress<ModelProgress>
    {
        public void Report(ModelProgress value) => report(value);
    }

    internal static Tensor Input(int batch, int height, int width) =>
        new(KernelTestHelpers.Random(7, (long)batch * 3 * height * width), batch, 3, height, width);
}
