using DepthSharp.Checkpoints;
using DepthSharp.IO;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Cli;

/// <summary>`depthsharp preprocess` run as a process, with the processor the config names or the one --processor forces.</summary>
public sealed class PreprocessCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-preprocess-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs preprocess on the fixtures' image1 with the given processor folder and options; the written [3, H, W] values.</summary>
    private Tensor Preprocess(string processorFolder, params string[] options)
    {
        string npy = Path.Combine(_dir, "pixels.npy");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(1),
            ["preprocess", Fixtures.Path("processors", "image1.png"), "--model", processorFolder, "--output", npy, .. options]);
        Assert.True(code == 0, stderr);
        var array = Npy.Read(npy);
        return new Tensor(array.Float32!, array.Shape);
    }

    private void AssertStrict(string fixtureFolder, string key, Tensor actual, string label)
    {
        using var expected = SafeTensorsFile.Open(Fixtures.Path(fixtureFolder, "expected.safetensors"));
        var (off, maxDiff, _) = Tolerance.PixelValuesStrict(key, expected.Read(key), actual);
        output.WriteLine($"{label}: {key}: {off} values off by more than 1e-5, max |Δ| {maxDiff:E2}");
        Assert.Equal(0, off);
    }

    [Fact]
    public void ProcessorFastWritesTheFastValues()
    {
        // A config naming the slow class, forced fast: padding before normalising and torchvision's resize.
        var pixels = Preprocess(Fixtures.Path("processors", "processors", "dpt_pad_32"), "--processor", "fast");
        AssertStrict("processors_fast", "dpt_pad_32_fast.1.pixel_values", pixels, "--processor fast");
    }

    [Fact]
    public void ProcessorSlowWritesTheSlowValues()
    {
        var pixels = Preprocess(Fixtures.Path("processors_fast", "processors", "dpt_pad_32_fast"), "--processor", "slow");
        AssertStrict("processors", "dpt_pad_32.1.pixel_values", pixels, "--processor slow");
    }

    [Fact]
    public void WithoutTheOptionTheConfigsClassIsUsed()
    {
        var pixels = Preprocess(Fixtures.Path("processors_fast", "processors", "dpt_large_384_fast"));
        AssertStrict("processors_fast", "dpt_large_384_fast.1.pixel_values", pixels, "default");
    }

    [Fact]
    public void UnknownProcessorIsRefused()
    {
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(1), "preprocess", Fixtures.Path("processors", "image1.png"),
            "--model", Fixtures.Path("processors", "processors", "dpt_pad_32"), "--output", Path.Combine(_dir, "x.npy"), "--processor", "medium");
        Assert.NotEqual(0, code);
        Assert.Contains("medium", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "x.npy")));
    }
}
