using System.Diagnostics;

namespace DepthSharp.Tests.Cli;

/// <summary>The `depthsharp` tool run as a process, as a user or a script runs it.</summary>
internal static class CliProcess
{
    public static ProcessStartInfo Tool(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "depthsharp.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Runs the tool to its end (killed and failed past <paramref name="limit"/>).</summary>
    public static (int Code, string Stdout, string Stderr) Run(TimeSpan limit, params string[] args)
    {
        using var p = Process.Start(Tool(args))!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(limit)) { p.Kill(entireProcessTree: true); Assert.Fail($"depthsharp {string.Join(' ', args)} ran past {limit}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
