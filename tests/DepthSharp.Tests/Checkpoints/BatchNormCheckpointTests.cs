using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DepthSharp.Checkpoints;
using DepthSharp.Pipeline;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Checkpoints;

/// <summary>
/// Checkpoints of the families whose fusion residual units take batch norm (use_batch_norm_in_fusion_residual), written
/// as save_pretrained writes them: running statistics, affine parameters and the int64 num_batches_tracked scalar of
/// every nn.BatchNorm2d. They are made from a fixture model: each residual unit's convolution output is scaled per
/// channel by k and its batch norm, with arbitrary running statistics, undoes exactly that, so the model must still give
/// the fixture's reference depth, and every statistic and the eps take part.
/// </summary>
public sealed partial class BatchNormCheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-bn-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"^(?<unit>.+\.residual_layer\d)\.convolution(?<conv>[12])\.weight$")]
    private static partial Regex ResidualConvolution();

    private sealed record Stored(StoredDType DType, int[] Shape, byte[] Bytes);

    private static Stored F32(int[] shape, float[] values) => new(StoredDType.F32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>The fixture's tensors as float32, by name.</summary>
    private static Dictionary<string, Stored> FixtureTensors(string fixture)
    {
        using var checkpoint = Checkpoint.OpenDirectory(Fixtures.Path("models", fixture));
        return checkpoint.Names.ToDictionary(n => n, n => F32(checkpoint.Entry(n).Shape, checkpoint.Read(n).Data), StringComparer.Ordinal);
    }

    /// <summary>
    /// Adds a batch norm after every residual convolution of the fixture (folded so the output is unchanged), with its
    /// num_batches_tracked unless <paramref name="withBatchCount"/> is false. Returns the batch-norm modules' prefixes.
    /// </summary>
    private static List<string> AddBatchNorms(Dictionary<string, Stored> tensors, double eps, bool withBatchCount = true)
    {
        var rng = new Random(20);
        var modules = new List<string>();
        foreach (string name in tensors.Keys.Order(StringComparer.Ordinal).ToList())
        {
            if (ResidualConvolution().Match(name) is not { Success: true } m) continue;
            string conv = name[..^".weight".Length], bn = $"{m.Groups["unit"].Value}.batch_norm{m.Groups["conv"].Value}";
            var weight = tensors[name];
            int channels = weight.Shape[0];
            var w = MemoryMarshal.Cast<byte, float>(weight.Bytes).ToArray();
            var b = MemoryMarshal.Cast<byte, float>(tensors[conv + ".bias"].Bytes).ToArray();
            float[] gamma = new float[channels], beta = new float[channels], mean = new float[channels], variance = new float[channels];
            int perChannel = w.Length / channels;
            for (int c = 0; c < channels; c++)
            {
                // BN(k·y) = (k·y − μ)·γ/√(σ²+ε) + β = y when γ = √(σ²+ε)/k and β = μ/k.
                double k = 0.5 + 1.5 * rng.NextDouble(), mu = rng.NextDouble() * 4 - 2, var = 0.1 + 3 * rng.NextDouble();
                for (int i = 0; i < perChannel; i++) w[c * perChannel + i] = (float)(w[c * perChannel + i] * k);
                b[c] = (float)(b[c] * k);
                mean[c] = (float)mu;
                variance[c] = (float)var;
                gamma[c] = (float)(Math.Sqrt(var + eps) / k);
                beta[c] = (float)(mu / k);
            }
            tensors[name] = F32(weight.Shape, w);
            tensors[conv + ".bias"] = F32([channels], b);
            tensors[bn + ".weight"] = F32([channels], gamma);
            tensors[bn + ".bias"] = F32([channels], beta);
            tensors[bn + ".running_mean"] = F32([channels], mean);
            tensors[bn + ".running_var"] = F32([channels], variance);
            if (withBatchCount) tensors[bn + ".num_batches_tracked"] = Int64Scalar(12_345);
            modules.Add(bn);
        }
        return modules;
    }

    private static Stored Int64Scalar(long value) => new(StoredDType.I64, [], BitConverter.GetBytes(value));

    /// <summary>A model folder: the fixture's processor config and picture, its config.json edited, the given tensors.</summary>
    private string WriteModel(string fixture, Dictionary<string, Stored> tensors, Action<JsonObject> editConfig)
    {
        string src = Fixtures.Path("models", fixture), dst = Path.Combine(_dir, fixture + "_" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dst);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        editConfig(config);
        File.WriteAllText(Path.Combine(dst, "config.json"), config.ToJsonString());
        File.WriteAllBytes(Path.Combine(dst, "preprocessor_config.json"), File.ReadAllBytes(Path.Combine(src, "preprocessor_config.json")));
        SafeTensorsFile.Write(Path.Combine(dst, "model.safetensors"),
            tensors.Select(t => new TensorToWrite(t.Key, t.Value.DType, t.Value.Shape, () => t.Value.Bytes)).ToList(),
            new Dictionary<string, string> { ["format"] = "pt" });
        return dst;
    }

    private static void WithBatchNorm(JsonObject config)
    {
        config["use_batch_norm_in_fusion_residual"] = true;
        // Kept, so the folded convolutions keep their biases (the reference drops them with batch norm by default).
        config["use_bias_in_fusion_residual"] = true;
    }

    private static void AssertReferenceDepth(string fixture, DepthEstimator estimator)
    {
        using var expected = SafeTensorsFile.Open(Fixtures.Path("models", fixture, "expected.safetensors"));
        var depth = estimator.Forward(expected.Read("pixel_values"));
        Tolerance.AssertModelClose($"{fixture} with batch norm: predicted_depth", expected.Read("predicted_depth"), depth);
    }

    [Theory]
    [InlineData("depth_pro_tiny", 1e-5)]
    [InlineData("dpt_tiny", 1e-5)]
    [InlineData("zoedepth_tiny_nk", 0.25)]
    public void BatchNormCheckpointsLoadAndGiveTheReferenceDepth(string fixture, double eps)
    {
        var tensors = FixtureTensors(fixture);
        var modules = AddBatchNorms(tensors, eps);
        Assert.NotEmpty(modules);
        string dir = WriteModel(fixture, tensors, c =>
        {
            WithBatchNorm(c);
            // ZoeDepth's batch norms take the config's eps (large here, so that a wrong one shows); the others PyTorch's default.
            if (fixture.StartsWith("zoedepth", StringComparison.Ordinal)) c["batch_norm_eps"] = eps;
        });
        using (var written = Checkpoint.OpenDirectory(dir))
        {
            var count = written.Entry(modules[0] + ".num_batches_tracked");
            Assert.Equal(StoredDType.I64, count.DType);
            Assert.Empty(count.Shape);
        }
        AssertReferenceDepth(fixture, DepthEstimator.Load(dir));
        // The 8-bit path wraps the checkpoint's source and must pass the declarations through.
        DepthEstimator.Load(dir, new DepthEstimatorOptions { Int8Weights = true });
    }

    [Fact]
    public void BatchNormWithoutItsBatchCountLoadsAsPyTorchDoes()
    {
        var tensors = FixtureTensors("dpt_tiny");
        AddBatchNorms(tensors, 1e-5, withBatchCount: false);
        AssertReferenceDepth("dpt_tiny", DepthEstimator.Load(WriteModel("dpt_tiny", tensors, WithBatchNorm)));
    }

    [Fact]
    public void BatchNormCheckpointsWithTheReferenceDefaultsDropTheConvolutionBiases()
    {
        // save_pretrained's tensor set for use_batch_norm_in_fusion_residual alone: no residual convolution biases.
        var tensors = FixtureTensors("zoedepth_tiny_nk");
        var modules = AddBatchNorms(tensors, 1e-5);
        foreach (string bn in modules)
            tensors.Remove(bn.Replace(".batch_norm", ".convolution", StringComparison.Ordinal) + ".bias");
        DepthEstimator.Load(WriteModel("zoedepth_tiny_nk", tensors, c => c["use_batch_norm_in_fusion_residual"] = true));
    }

    [Fact]
    public void BatchCountWhereNoBatchNormIsStaysAnUnusedTensor()
    {
        var tensors = FixtureTensors("dpt_tiny");
        string unit = tensors.Keys.Select(n => ResidualConvolution().Match(n)).First(m => m.Success).Groups["unit"].Value;
        tensors[unit + ".batch_norm1.num_batches_tracked"] = Int64Scalar(1);
        tensors[unit + ".convolution1.num_batches_tracked"] = Int64Scalar(1);
        var e = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(WriteModel("dpt_tiny", tensors, _ => { })));
        Assert.Contains($"unused tensor '{unit}.batch_norm1.num_batches_tracked'", e.Message);
        Assert.Contains($"unused tensor '{unit}.convolution1.num_batches_tracked'", e.Message);
        Assert.Contains("2 problem(s)", e.Message);
    }

    [Fact]
    public void DepthAnythingHasNoBatchNormSoItsTensorsAreUnused()
    {
        // The reference's Depth Anything residual units have no batch-norm option; the config key is ignored.
        var tensors = FixtureTensors("depth_anything_tiny_relative");
        var modules = AddBatchNorms(tensors, 1e-5);
        var e = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(WriteModel("depth_anything_tiny_relative", tensors, WithBatchNorm)));
        Assert.Contains($"unused tensor '{modules[0]}.num_batches_tracked'", e.Message);
        Assert.Contains($"unused tensor '{modules[0]}.running_var'", e.Message);
        Assert.Contains($"{modules.Count * 5} problem(s)", e.Message);
    }

    [Fact]
    public void BatchCountOfAnotherShapeIsReported()
    {
        var tensors = FixtureTensors("dpt_tiny");
        var modules = AddBatchNorms(tensors, 1e-5);
        tensors[modules[1] + ".num_batches_tracked"] = new Stored(StoredDType.I64, [3], new byte[24]);
        var e = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(WriteModel("dpt_tiny", tensors, WithBatchNorm)));
        Assert.Contains($"buffer '{modules[1]}.num_batches_tracked' has shape [3]", e.Message);
        Assert.Contains("1 problem(s)", e.Message);
    }

    [Fact]
    public void OneElementBatchCountLoadsAsPyTorchSqueezesIt()
    {
        var tensors = FixtureTensors("dpt_tiny");
        var modules = AddBatchNorms(tensors, 1e-5);
        tensors[modules[0] + ".num_batches_tracked"] = new Stored(StoredDType.I64, [1], BitConverter.GetBytes(7L));
        DepthEstimator.Load(WriteModel("dpt_tiny", tensors, WithBatchNorm));
    }

    [Fact]
    public void ShapeRecorderListsTheDeclaredBuffers()
    {
        var recorder = new ShapeRecorder();
        var w = new Weights(recorder)["unit"];
        _ = new DepthSharp.Models.BatchNorm2d(w["batch_norm1"], 4);
        Assert.Equal(["unit.batch_norm1.num_batches_tracked"], recorder.Buffers);
        Assert.Equal(4, recorder.Shapes.Count);
        Assert.Throws<ArgumentException>(() => w.DeclareUnread("running_mean"));
    }

    [Fact]
    public void WrittenFilesReadBackInEveryDtype()
    {
        string path = Path.Combine(_dir, "rt.safetensors");
        var half = new[] { (Half)1.5, (Half)(-2) };
        SafeTensorsFile.Write(path,
        [
            new("b", StoredDType.I64, [], () => BitConverter.GetBytes(-3L)),
            new("a", StoredDType.F16, [2], () => MemoryMarshal.AsBytes(half.AsSpan()).ToArray()),
            new("c", StoredDType.F32, [1, 2], () => MemoryMarshal.AsBytes(new[] { 0.25f, 8f }.AsSpan()).ToArray()),
        ], new Dictionary<string, string> { ["format"] = "pt" });
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(0UL, BitConverter.ToUInt64(bytes, 0) % 8);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([-3f], f.Read("b").Data);
        Assert.Equal([1.5f, -2f], f.Read("a").Data);
        Assert.Equal([0.25f, 8f], f.Read("c").Data);
        Assert.Equal("pt", f.Metadata["format"]);
        // Largest elements first, as the safetensors library aligns them.
        Assert.True(f.Entries["b"].Begin < f.Entries["c"].Begin && f.Entries["c"].Begin < f.Entries["a"].Begin);
    }
}
