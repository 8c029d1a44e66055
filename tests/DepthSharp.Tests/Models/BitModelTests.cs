using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Kernels;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Models;

/// <summary>
/// DPT-Hybrid's BiT backbone and hybrid embeddings against the reference's tensors (dpt_hybrid_tiny) and the released
/// checkpoint's names; padding, pooling and dilation by their definitions. In the kernel-options collection, since the
/// fixture case also runs on the reference kernels.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public class BitModelTests(ITestOutputHelper output)
{
    /// <summary>The hybrid embeddings of a DPT-Hybrid model folder (config.json), under the checkpoint prefix dpt.embeddings.</summary>
    internal static DPTViTHybridEmbeddings BuildEmbeddings(string dir, IWeightSource source)
    {
        string configPath = Path.Combine(dir, "config.json");
        var backbone = BackboneConfigFiles.Bit(configPath);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath));
        var root = doc.RootElement;
        int Int(string name) => root.GetProperty(name).GetInt32();
        var featmap = root.GetProperty("backbone_featmap_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        return new DPTViTHybridEmbeddings(new Weights(source)["dpt"]["embeddings"], backbone,
            Int("hidden_size"), Int("image_size"), Int("patch_size"), Int("num_channels"), featmap);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HybridEmbeddingsMatchTheReferenceAtEveryStage(bool forceReference)
    {
        string dir = Fixtures.Path("models", "dpt_hybrid_tiny");
        bool saved = KernelOptions.ForceReference;
        KernelOptions.ForceReference = forceReference;
        try
        {
            using var checkpoint = Checkpoint.OpenDirectory(dir);
            var source = new CheckpointWeights(checkpoint);
            var embeddings = BuildEmbeddings(dir, source);
            // Every tensor under dpt.embeddings is asked for with its shape; the rest is the ViT encoder's, neck's and head's.
            source.Finish("dpt.encoder.", "dpt.layernorm.", "neck.", "head.");

            using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
            var traced = new Dictionary<string, Tensor>();
            Tensor tokens;
            Tensor[] intermediate;
            using (ActivationTrace.Capture((path, t) => traced[path] = t))
                (tokens, intermediate) = embeddings.Forward(expected.Read("pixel_values"), new ForwardContext(embeddings.ForwardSteps));

            // Model order: the stem, the backbone's maps, then the tokens and the maps handed on.
            string[] stages =
            [
                "module.dpt.embeddings.backbone.bit.embedder",
                "module.dpt.embeddings.backbone.0.0", "module.dpt.embeddings.backbone.0.1", "module.dpt.embeddings.backbone.0.2",
                "module.dpt.embeddings.0", "module.dpt.embeddings.1.0", "module.dpt.embeddings.1.1",
            ];
            Assert.Equal(stages.Order(), expected.Entries.Keys.Where(k => k.StartsWith("module.dpt.embeddings", StringComparison.Ordinal)).Order());
            foreach (var key in stages)
            {
                Assert.True(traced.TryGetValue(key["module.".Length..], out var actual), $"{key}: the model recorded no such stage");
                Tolerance.AssertModelClose(key, expected.Read(key), actual);
                output.WriteLine($"ok: {key}: {Tolerance.DescribeModel(expected.Read(key), actual)}");
            }
            Tolerance.AssertModelClose("returned tokens", expected.Read("module.dpt.embeddings.0"), tokens);
            Assert.Equal(2, intermediate.Length);
            for (int k = 0; k < 2; k++)
                Tolerance.AssertModelClose($"returned map {k}", expected.Read($"module.dpt.embeddings.1.{k}"), intermediate[k]);
        }
        finally
        {
            KernelOptions.ForceReference = saved;
        }
    }

    public static TheoryData<string, bool> BackboneCases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var name in new[] { "preactivation_symmetric", "bottleneck_dilated", "preactivation_same_stride4" })
        {
            data.Add(name, false);
            data.Add(name, true);
        }
        return data;
    }

    /// <summary>The layer types, paddings and dilations DPT-Hybrid does not use, against BitData's reference cases.</summary>
    [Theory]
    [MemberData(nameof(BackboneCases))]
    public void BackboneMatchesTheReferenceCase(string name, bool forceReference)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Models", "BitData", name);
        bool saved = KernelOptions.ForceReference;
        KernelOptions.ForceReference = forceReference;
        try
        {
            var config = BackboneConfigFiles.Bit(Path.Combine(dir, "config.json"));
            using var checkpoint = Checkpoint.OpenFile(Path.Combine(dir, "case.safetensors"));
            var source = new CheckpointWeights(checkpoint);
            var backbone = new BitBackbone(new Weights(source), config);
            source.Finish("pixel_values", "hidden.");
            var maps = backbone.Forward(checkpoint.Read("pixel_values"), new ForwardContext(backbone.ForwardSteps));
            Assert.Equal(config.NumStages + 1, maps.Length);
            for (int i = 0; i < maps.Length; i++)
            {
                Tolerance.AssertModelClose($"{name} hidden.{i}", checkpoint.Read($"hidden.{i}"), maps[i]);
                output.WriteLine($"ok: hidden.{i}: {Tolerance.DescribeModel(checkpoint.Read($"hidden.{i}"), maps[i])}");
            }
        }
        finally
        {
            KernelOptions.ForceReference = saved;
        }
    }

    [Fact]
    public void ReleasedCheckpointEmbeddingsAreExactlyTheTensorsBuilt()
    {
        string dir = Fixtures.Path("checkpoints", "Intel--dpt-hybrid-midas");
        var recorder = new ShapeRecorder();
        BuildEmbeddings(dir, recorder);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "weights.json")));
        var expected = doc.RootElement.GetProperty("tensors").EnumerateObject()
            .Where(p => p.Name.StartsWith("dpt.embeddings.", StringComparison.Ordinal))
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        Assert.Equal(160, expected.Count);
        var missing = expected.Keys.Except(recorder.Shapes.Keys).Order().ToList();
        var extra = recorder.Shapes.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"not built: {string.Join(", ", missing.Take(10))}; not in checkpoint: {string.Join(", ", extra.Take(10))}");
        foreach (var (tensor, shape) in expected)
            Assert.True(shape.SequenceEqual(recorder.Shapes[tensor]), $"{tensor}: built [{string.Join(", ", recorder.Shapes[tensor])}], checkpoint [{string.Join(", ", shape)}]");
    }

    [Fact]
    public void HybridEmbeddingsTakeOnlyTheConfiguredImageSize()
    {
        string dir = Fixtures.Path("models", "dpt_hybrid_tiny");
        var embeddings = BuildEmbeddings(dir, new RandomWeights(1));
        var e = Assert.Throws<ArgumentException>(() => embeddings.Forward(Tensor.Zeros(1, 3, 64, 80), new ForwardContext(embeddings.ForwardSteps)));
        Assert.Contains("64*80", e.Message);
    }

    [Fact]
    public void AFeatureMapShapeThatDoesNotFitTheBackboneIsRefused()
    {
        var backbone = BackboneConfigFiles.Bit(Fixtures.Path("models", "dpt_hybrid_tiny", "config.json"));
        var e = Assert.Throws<ArgumentException>(() => new DPTViTHybridEmbeddings(new Weights(new ShapeRecorder()), backbone, 32, 64, 16, 3, [1, 24, 4, 4]));
        Assert.Contains("backbone_featmap_shape", e.Message);
    }

    [Fact]
    public void MaxPoolPadsTheRightAndBottomWithZero()
    {
        // 4 → ceil(4 / 2) = 2 outputs need 1 pixel of padding, which goes right and bottom; filled with 0, a window
        // reaching into it takes 0 over the input's −1.
        var x = new Tensor(Enumerable.Repeat(-1f, 16).ToArray(), 1, 1, 4, 4);
        var padded = new BitMaxPool2d(3, 2, useDynamicPadding: true).Forward(x);
        Assert.Equal([1, 1, 2, 2], padded.Shape);
        Assert.Equal([-1f, 0f, 0f, 0f], padded.Data);
        var unpadded = new BitMaxPool2d(3, 2, useDynamicPadding: false).Forward(x);
        Assert.Equal([1, 1, 1, 1], unpadded.Shape);
        Assert.Equal([-1f], unpadded.Data);
    }

    [Theory]
    // "SAME", fixed: stride 1 and an even reach.
    [InlineData(BitPadding.Same, 3, 1, 1, 7, 6)]
    [InlineData(BitPadding.Same, 3, 1, 2, 9, 8)]
    // "SAME" worked out per size: odd sides pad evenly, even ones one more right and bottom.
    [InlineData(BitPadding.Same, 3, 2, 1, 7, 6)]
    [InlineData(BitPadding.Same, 7, 2, 1, 9, 10)]
    [InlineData(BitPadding.Same, 3, 2, 2, 9, 8)]
    [InlineData(BitPadding.Same, 2, 1, 1, 5, 6)]
    [InlineData(BitPadding.Same, 1, 2, 1, 7, 6)]
    // global_padding null: PyTorch's symmetric padding.
    [InlineData(BitPadding.Symmetric, 3, 2, 1, 7, 8)]
    [InlineData(BitPadding.Symmetric, 3, 1, 3, 11, 9)]
    [InlineData(BitPadding.Symmetric, 7, 2, 1, 10, 9)]
    [InlineData(BitPadding.Symmetric, 1, 2, 1, 7, 6)]
    public void StandardizedConvolutionFollowsItsDefinition(BitPadding padding, int kernel, int stride, int dilation, int h, int w)
    {
        const int batch = 2, inChannels = 3, outChannels = 4;
        var weight = new Tensor(KernelTestHelpers.Random(5, outChannels * inChannels * kernel * kernel), outChannels, inChannels, kernel, kernel);
        var x = new Tensor(KernelTestHelpers.Random(6, batch * inChannels * h * w), batch, inChannels, h, w);
        var conv = new WeightStandardizedConv2d(new Weights(new Given(("weight", weight.Clone()))), inChannels, outChannels, kernel, padding, stride, dilation);
        var actual = conv.Forward(x);

        // The definition: the kernel standardised per output channel (biased variance, eps 1e-8), padded as the option
        // says, the taps dilation apart.
        int reach = dilation * (kernel - 1);
        (int Before, int Out) Side(int n)
        {
            if (padding == BitPadding.Symmetric || (stride == 1 && reach % 2 == 0))
            {
                int p = padding == BitPadding.Symmetric ? (stride - 1 + reach) / 2 : reach / 2;
                return (p, (n + 2 * p - reach - 1) / stride + 1);
            }
            int total = Math.Max(((n + stride - 1) / stride - 1) * stride + reach + 1 - n, 0);
            return (total / 2, (n + total - reach - 1) / stride + 1);
        }
        var (top, oh) = Side(h);
        var (left, ow) = Side(w);
        if (padding == BitPadding.Same)
        {
            Assert.Equal((h + stride - 1) / stride, oh);
            Assert.Equal((w + stride - 1) / stride, ow);
        }
        int taps = inChannels * kernel * kernel;
        var standardized = new double[weight.Length];
        for (int o = 0; o < outChannels; o++)
        {
            var row = weight.Data.Skip(o * taps).Take(taps).Select(v => (double)v).ToArray();
            double mean = row.Average(), variance = row.Sum(v => (v - mean) * (v - mean)) / taps;
            for (int i = 0; i < taps; i++) standardized[o * taps + i] = (row[i] - mean) / Math.Sqrt(variance + 1e-8);
        }
        var expected = new float[batch * outChannels * oh * ow];
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < outChannels; o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++)
                    {
                        double sum = 0;
                        for (int c = 0; c < inChannels; c++)
                            for (int ky = 0; ky < kernel; ky++)
                                for (int kx = 0; kx < kernel; kx++)
                                {
                                    int iy = oy * stride + ky * dilation - top, ix = ox * stride + kx * dilation - left;
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    sum += standardized[((o * inChannels + c) * kernel + ky) * kernel + kx] * x.Data[((b * inChannels + c) * h + iy) * w + ix];
                                }
                        expected[((b * outChannels + o) * oh + oy) * ow + ox] = (float)sum;
                    }
        Assert.Equal([batch, outChannels, oh, ow], actual.Shape);
        KernelTestHelpers.AssertClose(expected, actual.Data, taps, $"{padding} k={kernel} s={stride} d={dilation} on {h}x{w}");
    }

    /// <summary>Hands out the given tensors by name, once each.</summary>
    private sealed class Given(params (string Name, Tensor Value)[] tensors) : IWeightSource
    {
        public Tensor Get(string name, int[] shape)
        {
            var t = tensors.Single(p => p.Name == name).Value;
            Assert.Equal(shape, t.Shape);
            return t;
        }
    }
}
