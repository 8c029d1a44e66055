using System.Text.Json;

namespace DepthSharp.Tests.Cli;

/// <summary>`depthsharp bench` run as a process.</summary>
public sealed class BenchCommandTests
{
    /// <summary>
    /// Issue 7 asks that the benchmark's output for a fixed seed not change between runs: every timed run of one
    /// invocation gives the same bits, and so does a second invocation (another process, other buffers, the worker team
    /// dealing out its indices in another order).
    /// </summary>
    [Theory]
    [InlineData("depth_anything_tiny_relative")]
    [InlineData("depth_pro_tiny")]
    [InlineData("zoedepth_tiny_nk")]
    public void FixedSeedGivesTheSameDepthOnEveryRunAndInvocation(string model)
    {
        string[] args = ["bench", "--model", Fixtures.Path("models", model), "--random-weights", "--runs", "3", "--threads", "2"];
        var hashes = new List<string>();
        for (int invocation = 0; invocation < 2; invocation++)
        {
            var (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), args);
            Assert.True(code == 0, stderr);
            var json = JsonDocument.Parse(stdout).RootElement;
            Assert.True(json.GetProperty("outputs_identical").GetBoolean(), $"{model}: the timed runs' outputs differ");
            hashes.Add(json.GetProperty("output_sha256").GetString()!);
        }
        Assert.Equal(64, hashes[0].Length);
        Assert.Equal(hashes[0], hashes[1]);
    }

    [Theory]
    [InlineData("--size", "+64")]
    [InlineData("--prompt-size", "+24x32")]
    public void SizesAreParsedAsStrictlyAsInputSize(string option, string value)
    {
        // One parser for "S or HxW" (estimate's --input-size): no sign, invariant digits.
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "bench", "--model", Fixtures.Path("models", "prompt_depth_anything_tiny"),
            "--random-weights", "--runs", "1", option, value);
        Assert.Equal(1, code);
        Assert.Contains($"{option} '{value}' is not S or HxW with positive numbers", stderr);
    }
}
