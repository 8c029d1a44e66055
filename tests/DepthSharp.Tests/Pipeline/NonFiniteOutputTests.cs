using System.Runtime.InteropServices;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Tests.Cli;

namespace DepthSharp.Tests.Pipeline;

/// <summary>
/// Weights that make the depth or the field of view NaN or infinite are refused where the estimator returns its
/// result, with a ModelOutputException naming the model folder; the CLI reports it in one line and writes nothing.
/// </summary>
public sealed class NonFiniteOutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-nonfinite-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The fixture's folder with one tensor's values replaced (all float32).</summary>
    private string WithTensor(string fixture, string tensor, float value)
    {
        string src = Fixtures.Path("models", fixture), dst = Path.Combine(_dir, fixture);
        Directory.CreateDirectory(dst);
        foreach (string f in new[] { "config.json", "preprocessor_config.json", "image0.png" }) File.Copy(Path.Combine(src, f), Path.Combine(dst, f));
        using var checkpoint = Checkpoint.OpenDirectory(src);
        Assert.True(checkpoint.Contains(tensor));
        var tensors = checkpoint.Names.Select(n =>
        {
            var values = checkpoint.Read(n).Data;
            if (n == tensor) Array.Fill(values, value);
            byte[] bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            return new TensorToWrite(n, StoredDType.F32, checkpoint.Entry(n).Shape, () => bytes);
        }).ToList();
        SafeTensorsFile.Write(Path.Combine(dst, "model.safetensors"), tensors);
        return dst;
    }

    [Fact]
    public void InfiniteDepthIsRefusedNamingTheModel()
    {
        string dir = WithTensor("dpt_tiny", "head.head.4.bias", float.PositiveInfinity);
        var estimator = DepthEstimator.Load(dir);
        var e = Assert.Throws<ModelOutputException>(() => estimator.Estimate(ImageFile.Load(Path.Combine(dir, "image0.png"))));
        Assert.Equal(dir, e.ModelFolder);
        Assert.StartsWith($"{dir}: the model's depth has ", e.Message);
        Assert.Contains("non-finite values (NaN or infinite)", e.Message);
    }

    [Fact]
    public void NaNFieldOfViewIsRefusedEvenWhenTheDepthUsesTheUsersFocalLength()
    {
        string dir = WithTensor("depth_pro_tiny", "fov_model.head.layers.4.bias", float.NaN);
        var estimator = DepthEstimator.Load(dir, new DepthEstimatorOptions { FocalLengthPixels = 100 });
        var e = Assert.Throws<ModelOutputException>(() => estimator.Estimate(ImageFile.Load(Path.Combine(dir, "image0.png"))));
        Assert.StartsWith($"{dir}: the model's field of view is NaN degrees", e.Message);
    }

    [Fact]
    public void FiniteOutputPassesUnchanged()
    {
        string dir = Fixtures.Path("models", "dpt_tiny");
        var result = DepthEstimator.Load(dir).Estimate(ImageFile.Load(Path.Combine(dir, "image0.png")));
        Assert.All(result.Depth, d => Assert.True(float.IsFinite(d)));
    }

    [Fact]
    public void TheCliSaysSoInOneLineAndWritesNothing()
    {
        string dir = WithTensor("dpt_tiny", "head.head.4.bias", float.PositiveInfinity), output = Path.Combine(_dir, "out");
        var (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Path.Combine(dir, "image0.png"), "--model", dir,
            "--output", output, "--format", "npy", "pfm", "png16", "gray8", "color");
        Assert.Equal(1, code);
        Assert.Contains($"error: {dir}: the model's depth has ", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(output));
    }
}
