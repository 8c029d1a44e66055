using System.Text.Json.Nodes;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tests.Kernels;

namespace DepthSharp.Tests.Models;

/// <summary>
/// The decoders release each intermediate map as soon as they have read it. Configurations the fixtures do not cover
/// take other paths through that bookkeeping (the head reading an earlier fused map, batch norm in the fusion units, the
/// head's projection, other readouts, backbone stages that are neither normed nor reshaped): with every buffer pooled,
/// a map released while still read would be handed to the next tensor of its size and change the output, and one
/// released twice would throw. Each variant must give the same bits pooled, twice over, as unpooled.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class BufferLifetimeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-lifetimes-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("as released", "{}")]
    [InlineData("head reads an earlier fused map", """{"head_in_index": 1}""")]
    [InlineData("batch norm in the fusion units", """{"use_batch_norm_in_fusion_residual": true}""")]
    [InlineData("head projection", """{"add_projection": true, "fusion_hidden_size": 256}""")]
    [InlineData("readout add", """{"readout_type": "add"}""")]
    [InlineData("readout ignore", """{"readout_type": "ignore"}""")]
    public void DPTGivesTheSameBitsWithEveryBufferPooled(string variant, string patch)
    {
        var config = DPTConfig.Load(Patched("dpt_tiny", patch, variant));
        var model = new DPTForDepthEstimation(new Weights(new RandomWeights(3)), config);
        AssertPoolingChangesNothing(variant, () => model.Forward(Input(64, 64)));
    }

    [Theory]
    [InlineData("relative", "depth_anything_tiny_relative", "{}")]
    [InlineData("metric", "depth_anything_tiny_metric", "{}")]
    [InlineData("head reads an earlier fused map", "depth_anything_tiny_relative", """{"head_in_index": 2}""")]
    [InlineData("stages neither normed nor reshaped", "depth_anything_tiny_relative",
        """{"backbone_config": {"apply_layernorm": false}}""")]
    public void DepthAnythingGivesTheSameBitsWithEveryBufferPooled(string variant, string fixture, string patch)
    {
        var config = DepthAnythingConfig.Load(Patched(fixture, patch, variant));
        var model = new DepthAnythingForDepthEstimation(new Weights(new RandomWeights(3)), config);
        AssertPoolingChangesNothing(variant, () => model.Forward(Input(70, 98)));
    }

    [Theory]
    [InlineData("zoedepth_tiny_n_normed")]
    [InlineData("zoedepth_tiny_nk")]
    public void ZoeDepthGivesTheSameBitsWithEveryBufferPooled(string fixture)
    {
        var config = ZoeDepthConfig.Load(Patched(fixture, "{}", fixture));
        var model = new ZoeDepthForDepthEstimation(new Weights(new RandomWeights(3)), config);
        AssertPoolingChangesNothing(fixture, () => model.Forward(Input(32, 48)).PredictedDepth);
    }

    private static void AssertPoolingChangesNothing(string variant, Func<Tensor> forward)
    {
        long saved = TensorPool.MinBytes;
        try
        {
            TensorPool.MinBytes = long.MaxValue;
            var expected = forward().Data;
            Assert.Contains(expected, v => v != 0f);
            TensorPool.MinBytes = 1;
            for (int pass = 0; pass < 2; pass++)
            {
                var actual = forward().Data;
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{variant}: pass {pass} with pooled buffers differs");
            }
        }
        finally
        {
            TensorPool.MinBytes = saved;
            TensorPool.DropIdle();
        }
    }

    /// <summary>The fixture's config.json with the top-level (and backbone_config) keys of <paramref name="patch"/> replaced.</summary>
    private string Patched(string fixture, string patch, string variant)
    {
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", fixture, "config.json")))!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject())
            if (value is JsonObject inner && config[key] is JsonObject target)
                foreach (var (innerKey, innerValue) in inner) target[innerKey] = innerValue?.DeepClone();
            else config[key] = value?.DeepClone();
        string path = Path.Combine(_dir, $"{fixture}-{variant.Replace(' ', '-')}.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private static Tensor Input(int height, int width)
    {
        var rng = new Random(5);
        var x = Tensor.Empty(1, 3, height, width);
        for (int i = 0; i < x.Data.Length; i++) x.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }
}
