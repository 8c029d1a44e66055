using System.Diagnostics;
using DepthSharp.Cli.Batch;

namespace DepthSharp.Tests.Cli.Batch;

/// <summary>`depthsharp estimate --shard` and `depthsharp verify` run as processes, as a job engine runs them.</summary>
public sealed class ShardedRunTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-shards-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Model => Fixtures.Path("models", "depth_anything_tiny_relative");

    /// <summary>Runs the tool with the job engines' variables removed, then the given ones set.</summary>
    private static (int Code, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var psi = CliProcess.Tool(args);
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("SLURM_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(name);
        psi.Environment.Remove("JOB_COMPLETION_INDEX");
        psi.Environment.Remove("DEPTHSHARP_SHARD_COUNT");
        foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(entireProcessTree: true); Assert.Fail($"depthsharp {string.Join(' ', args)} ran past 2 minutes"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args) => Run(new Dictionary<string, string>(), args);

    private string Photos(params string[] broken)
    {
        string input = Path.Combine(_dir, "photos");
        Directory.CreateDirectory(Path.Combine(input, "sub"));
        string[] sources = ["baseline_420_q75.jpg", "progressive_420.jpg", "exif_orientation_6.jpg", "png_rgb8.png"];
        for (int i = 0; i < 12; i++)
        {
            string src = sources[i % sources.Length];
            File.Copy(Fixtures.Path("images", src), Path.Combine(input, i % 2 == 0 ? "" : "sub", $"p{i:D2}{Path.GetExtension(src)}"));
        }
        foreach (var b in broken) File.Copy(Fixtures.Path("images", b), Path.Combine(input, b));
        return input;
    }

    [Fact]
    public void KubernetesShardsTogetherDoEveryPictureOnceAndVerifyPasses()
    {
        string input = Photos(), output = Path.Combine(_dir, "out");
        Assert.Equal(VerifyCommand.Incomplete, Run("verify", input, "--output", output).Code);
        for (int i = 0; i < 3; i++)
        {
            var env = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = $"{i}", ["DEPTHSHARP_SHARD_COUNT"] = "3" };
            var (code, _, stderr) = Run(env, "estimate", input, "--model", Model, "--output", output, "--format", "npy", "--shard", "auto");
            Assert.True(code == 0, stderr);
            Assert.Contains($"shard {i} of 3: ", stderr);
        }
        var logs = Enumerable.Range(0, 3).Select(i => File.ReadAllLines(Path.Combine(output, ".depthsharp", $"done-{i}-of-3.jsonl"))).ToList();
        Assert.Equal(12, logs.Sum(l => l.Length));
        Assert.All(logs, l => Assert.All(l, line => Assert.Contains("\"status\":\"written\"", line)));
        Assert.Equal(12, logs.SelectMany(l => l).Distinct().Count());
        Assert.Equal(12, Directory.GetFiles(output, "*.npy", SearchOption.AllDirectories).Length);

        var (verify, stdout, verifyErr) = Run("verify", input, "--output", output);
        Assert.True(verify == 0, stdout + verifyErr);
        Assert.Contains("12 of 12 picture(s) done, 0 missing, 0 failed", verifyErr);

        // Run again: nothing is redone.
        var (again, _, againErr) = Run("estimate", input, "--model", Model, "--output", output, "--format", "npy", "--shard", "1/3");
        Assert.Equal(0, again);
        Assert.Contains("already up to date", againErr);
        Assert.DoesNotContain(".npy", againErr);
    }

    [Fact]
    public void OnlyBadPicturesLeftIsTheDistinctExitCode()
    {
        string input = Photos("bad_truncated.jpg"), output = Path.Combine(_dir, "out");
        var (code, _, stderr) = Run("estimate", input, "--model", Model, "--output", output, "--format", "npy");
        Assert.Equal(2, code);
        Assert.Contains("bad_truncated.jpg", stderr);
        var (verify, stdout, _) = Run("verify", input, "--output", output);
        Assert.Equal(2, verify);
        Assert.StartsWith("failed\tbad_truncated.jpg\t", stdout);

        File.Delete(Directory.GetFiles(output, "p03.npy", SearchOption.AllDirectories).Single());
        (verify, stdout, _) = Run("verify", input, "--output", output);
        Assert.Equal(VerifyCommand.Incomplete, verify);
        Assert.Contains("missing\tsub/p03.png", stdout);
    }

    [Fact]
    public void ShardAutoWithoutAnEngineSaysWhy()
    {
        string input = Photos();
        var (code, _, stderr) = Run("estimate", input, "--model", Model, "--output", Path.Combine(_dir, "out"), "--shard", "auto");
        Assert.Equal(1, code);
        Assert.Contains("neither a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)", stderr);
        var env = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "0" };
        (code, _, stderr) = Run(env, "estimate", input, "--model", Model, "--output", Path.Combine(_dir, "out"), "--shard", "auto");
        Assert.Equal(1, code);
        Assert.Contains("DEPTHSHARP_SHARD_COUNT", stderr);
    }
}
