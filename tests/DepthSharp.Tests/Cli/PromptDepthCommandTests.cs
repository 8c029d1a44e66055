using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Cli;

/// <summary>`depthsharp estimate --prompt-depth` and `bench --prompt-size` run as processes, with the tiny Prompt Depth Anything.</summary>
public sealed class PromptDepthCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-cli-prompt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Model => Fixtures.Path("models", "prompt_depth_anything_tiny");
    private static string Picture => Path.Combine(Model, "image0.png");
    private static string PromptNpy => Path.Combine(Model, "prompt_depth0.npy");

    private static Tensor ReadDepth(string npy)
    {
        var array = Npy.Read(npy);
        return new Tensor(array.Float32!, array.Shape);
    }

    [Fact]
    public void NpyPromptGivesTheReferencesDepth()
    {
        string output = Path.Combine(_dir, "out");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, "--model", Model, "--prompt-depth", PromptNpy,
            "--output", output, "--format", "npy", "color");
        Assert.True(code == 0, stderr);
        using var expected = SafeTensorsFile.Open(Path.Combine(Model, "expected.safetensors"));
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), ReadDepth(Path.Combine(output, "image0.npy")));
        var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "image0.json"))).RootElement;
        Assert.Equal("metric", json.GetProperty("depth_kind").GetString());
        Assert.True(File.Exists(Path.Combine(output, "image0.png")));
    }

    [Fact]
    public void SixteenBitPngPromptIsReadRawAsPhonesStoreDepth()
    {
        // The fixture's prompt rounded to whole millimetres, stored as a phone stores depth.
        var prompt = PromptDepthFile.Read(PromptNpy);
        var millimetres = prompt.Data.Select(v => (ushort)Math.Round(v)).ToArray();
        string png = Path.Combine(_dir, "lidar.png");
        File.WriteAllBytes(png, PngEncoder.EncodeGray16(millimetres, prompt.Dim(1), prompt.Dim(0)));
        var rounded = new Tensor(millimetres.Select(v => (float)v).ToArray(), prompt.Dim(0), prompt.Dim(1));
        var library = DepthEstimator.Load(Model).Estimate([new DepthInput(ImageFile.Load(Picture), rounded)])[0];

        string output = Path.Combine(_dir, "out");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, "--model", Model, "--prompt-depth", png,
            "--output", output, "--format", "npy");
        Assert.True(code == 0, stderr);
        Tolerance.AssertModelClose("depth with the PNG prompt", library.AsTensor(), ReadDepth(Path.Combine(output, "image0.npy")));
    }

    [Fact]
    public void WithoutAPromptTheModelIsRefusedSayingWhatToGive()
    {
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, "--model", Model, "--output", _dir);
        Assert.Equal(1, code);
        Assert.Contains("error: prompt_depth_anything models need a prompt depth with every picture: give --prompt-depth FILE", stderr);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void APromptForAModelThatTakesNoneIsRefused()
    {
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, "--model", Fixtures.Path("models", "depth_anything_tiny_relative"),
            "--prompt-depth", PromptNpy, "--output", _dir);
        Assert.Equal(1, code);
        Assert.Contains("error: --prompt-depth: depth_anything models take no prompt depth", stderr);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void OnePromptPerPictureIsRequired()
    {
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, Picture, "--model", Model, "--prompt-depth", PromptNpy, "--output", _dir);
        Assert.Equal(1, code);
        Assert.Contains("--prompt-depth: 1 file(s) for 2 picture(s)", stderr);
    }

    [Fact]
    public void AnUnreadablePromptFailsItsPictureByName()
    {
        // A picture as the prompt: neither .npy nor a 16-bit PNG. The other picture, with a good prompt, is still written.
        string output = Path.Combine(_dir, "out");
        string other = Path.Combine(_dir, "other.png");
        File.Copy(Picture, other);
        string jpeg = Fixtures.Path("images", "baseline_420_q75.jpg");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, other, "--model", Model,
            "--prompt-depth", jpeg, PromptNpy, "--output", output, "--format", "npy");
        Assert.Equal(2, code);
        Assert.Contains($"error: {jpeg}:", stderr);
        Assert.False(File.Exists(Path.Combine(output, "image0.npy")));
        Assert.True(File.Exists(Path.Combine(output, "other.npy")));
    }

    [Fact]
    public void AConstantPromptInABatchFailsOnlyItsPicture()
    {
        // Of the prompt's size, so the two pictures make one batch; constant, which the model refuses inside the batched call.
        var shape = Npy.Read(PromptNpy).Shape;
        string constant = Path.Combine(_dir, "constant.npy");
        Npy.Write(constant, Enumerable.Repeat(1000f, shape[0] * shape[1]).ToArray(), shape);
        string other = Path.Combine(_dir, "other.png"), output = Path.Combine(_dir, "out");
        File.Copy(Picture, other);
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Picture, other, "--model", Model,
            "--prompt-depth", constant, PromptNpy, "--batch-size", "2", "--output", output, "--format", "npy");
        Assert.True(code == 2, stderr);
        Assert.Contains($"error: {constant}: ", stderr);
        Assert.Contains("is constant", stderr);
        Assert.Contains("1 of 2 picture(s) failed", stderr);
        Assert.False(File.Exists(Path.Combine(output, "image0.npy")));
        Assert.True(File.Exists(Path.Combine(output, "other.npy")));
        var log = File.ReadAllLines(Path.Combine(output, ".depthsharp", "done-0-of-1.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(l => l.GetProperty("path").GetString()!, l => l.GetProperty("status").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["image0.png"] = "failed", ["other.png"] = "written" }, log);
    }

    [Fact]
    public void BenchTimesThePassWithAPromptOfTheGivenSize()
    {
        string[] common = ["bench", "--model", Model, "--random-weights", "--runs", "2", "--threads", "2"];
        var (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), [.. common, "--prompt-size", "24x32"]);
        Assert.True(code == 0, stderr);
        var prompted = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal([24, 32], prompted.GetProperty("prompt_depth").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(prompted.GetProperty("outputs_identical").GetBoolean());

        // The prompt changes the output (its layers run and its range scales the depth).
        (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), common);
        Assert.True(code == 0, stderr);
        var bare = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(JsonValueKind.Null, bare.GetProperty("prompt_depth").ValueKind);
        Assert.NotEqual(prompted.GetProperty("output_sha256").GetString(), bare.GetProperty("output_sha256").GetString());

        (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "bench", "--model", Fixtures.Path("models", "depth_anything_tiny_relative"),
            "--random-weights", "--runs", "1", "--prompt-size", "24x32");
        Assert.Equal(1, code);
        Assert.Contains("--prompt-size: depth_anything models take no prompt depth", stderr);
    }
}
