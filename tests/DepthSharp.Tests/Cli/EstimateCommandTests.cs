using System.Diagnostics;

namespace DepthSharp.Tests.Cli;

/// <summary>`depthsharp estimate` run as a process.</summary>
public sealed class EstimateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ProcessStartInfo Tool(params string[] args) => CliProcess.Tool(args);

    private static (int Code, string Stderr) Run(TimeSpan limit, params string[] args)
    {
        var (code, _, stderr) = CliProcess.Run(limit, args);
        return (code, stderr);
    }

    private string MakeFolder(int jpegs, int pngs, params string[] broken)
    {
        string input = Path.Combine(_dir, "photos");
        Directory.CreateDirectory(Path.Combine(input, "sub"));
        for (int i = 0; i < jpegs; i++) File.Copy(Fixtures.Path("images", "baseline_420_q75.jpg"), Path.Combine(input, $"a{i:D2}.jpg"));
        for (int i = 0; i < pngs; i++) File.Copy(Fixtures.Path("models", "depth_pro_tiny", "image0.png"), Path.Combine(input, "sub", $"b{i:D2}.png"));
        foreach (var b in broken) File.Copy(Fixtures.Path("images", b), Path.Combine(input, b));
        return input;
    }

    private static string Model => Fixtures.Path("models", "depth_pro_tiny");

    [Fact]
    public void FolderOfFiftyResumesAfterBeingStoppedHalfWay()
    {
        string input = MakeFolder(25, 25), output = Path.Combine(_dir, "out");
        var expectedStems = Enumerable.Range(0, 25).Select(i => $"a{i:D2}").Concat(Enumerable.Range(0, 25).Select(i => Path.Combine("sub", $"b{i:D2}"))).ToList();

        // First run: stopped once a few pictures are done.
        using (var first = Process.Start(Tool("estimate", input, "--model", Model, "--output", output, "--format", "npy", "color", "ply"))!)
        {
            _ = first.StandardError.ReadToEndAsync();
            _ = first.StandardOutput.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (!first.HasExited && clock.Elapsed < TimeSpan.FromSeconds(120)
                   && (!Directory.Exists(output) || Directory.GetFiles(output, "*.json", SearchOption.AllDirectories).Length < 5))
                Thread.Sleep(100);
            Assert.False(first.HasExited, "the first run finished before it could be stopped");
            first.Kill(entireProcessTree: true);
            first.WaitForExit();
        }
        int doneBefore = Directory.GetFiles(output, "*.json", SearchOption.AllDirectories).Length;
        Assert.InRange(doneBefore, 5, 49);

        var (code, stderr) = Run(TimeSpan.FromMinutes(5), "estimate", input, "--model", Model, "--output", output, "--format", "npy", "color", "ply", "--skip-existing");
        Assert.True(code == 0, stderr);
        Assert.Contains($"skipping {doneBefore} picture(s) already done", stderr);
        foreach (var stem in expectedStems)
            foreach (var ext in new[] { ".json", ".npy", ".png", ".ply" })
                Assert.True(File.Exists(Path.Combine(output, stem + ext)), $"missing {stem}{ext}");
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void UnreadablePictureIsReportedAndTheRestAreWritten()
    {
        string input = MakeFolder(2, 0, "bad_truncated.jpg"), output = Path.Combine(_dir, "out");
        var (code, stderr) = Run(TimeSpan.FromMinutes(2), "estimate", input, "--model", Model, "--output", output);
        Assert.Equal(2, code);
        Assert.Contains("bad_truncated.jpg", stderr);
        Assert.Contains("1 of 3 picture(s) failed", stderr);
        Assert.True(File.Exists(Path.Combine(output, "a00.json")) && File.Exists(Path.Combine(output, "a01.json")));
        Assert.False(File.Exists(Path.Combine(output, "bad_truncated.json")));
    }

    [Fact]
    public void PictureGoneAfterListingFailsThisRunOnlyAndVerifyCountsItMissing()
    {
        // A link to nothing: listed with the folder, unreadable when its turn comes, as a file deleted meanwhile.
        string input = MakeFolder(2, 0), output = Path.Combine(_dir, "out"), gone = Path.Combine(input, "gone.jpg");
        File.CreateSymbolicLink(gone, Path.Combine(_dir, "nowhere.jpg"));
        var (code, stderr) = Run(TimeSpan.FromMinutes(2), "estimate", input, "--model", Model, "--output", output, "--format", "npy");
        Assert.True(code == 2, stderr);
        Assert.Contains($"error: {gone}: cannot read:", stderr);
        Assert.Contains("1 of 3 picture(s) failed", stderr);
        Assert.True(File.Exists(Path.Combine(output, "a00.npy")) && File.Exists(Path.Combine(output, "a01.npy")));
        // Not a permanent failure: the done log says nothing of it.
        Assert.DoesNotContain("gone.jpg", File.ReadAllText(Path.Combine(output, ".depthsharp", "done-0-of-1.jsonl")));

        var (verifyCode, verifyOut, verifyErr) = CliProcess.Run(TimeSpan.FromMinutes(1), "verify", input, "--output", output);
        Assert.True(verifyCode == 3, verifyErr);
        Assert.Equal("missing\tgone.jpg", verifyOut.Trim());

        // Readable again: the next run writes it.
        File.Delete(gone);
        File.Copy(Fixtures.Path("images", "baseline_420_q75.jpg"), gone);
        (code, stderr) = Run(TimeSpan.FromMinutes(2), "estimate", input, "--model", Model, "--output", output, "--format", "npy");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(output, "gone.npy")));
    }

    [Fact]
    public void Int8WeightsOptionReachesTheModel()
    {
        string picture = Fixtures.Path("models", "depth_pro_tiny", "image0.png");
        string exact = Path.Combine(_dir, "f32"), int8 = Path.Combine(_dir, "int8");
        Assert.Equal(0, Run(TimeSpan.FromMinutes(1), "estimate", picture, "--model", Model, "--output", exact, "--format", "npy").Code);
        var (code, stderr) = Run(TimeSpan.FromMinutes(1), "estimate", picture, "--model", Model, "--output", int8, "--format", "npy", "--int8-weights");
        Assert.True(code == 0, stderr);
        byte[] a = File.ReadAllBytes(Path.Combine(exact, "image0.npy")), b = File.ReadAllBytes(Path.Combine(int8, "image0.npy"));
        Assert.Equal(a.Length, b.Length);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void BrokenModelExitsOneAndWritesNothing()
    {
        string model = Path.Combine(_dir, "model");
        Directory.CreateDirectory(model);
        foreach (var f in new[] { "config.json", "preprocessor_config.json" }) File.Copy(Path.Combine(Model, f), Path.Combine(model, f));
        File.WriteAllBytes(Path.Combine(model, "model.safetensors"), File.ReadAllBytes(Path.Combine(Model, "model.safetensors"))[..100_000]);
        string output = Path.Combine(_dir, "out");
        var (code, stderr) = Run(TimeSpan.FromMinutes(1), "estimate", Fixtures.Path("images", "exif_focal_35mm.jpg"), "--model", model, "--output", output);
        Assert.Equal(1, code);
        Assert.Contains("model.safetensors", stderr);
        Assert.True(!Directory.Exists(output) || Directory.GetFiles(output, "*", SearchOption.AllDirectories).Length == 0);
    }
}
