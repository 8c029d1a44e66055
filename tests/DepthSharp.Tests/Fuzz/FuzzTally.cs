using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Fuzz;

/// <summary>
/// Runs fuzz cases and keeps account: each case must succeed or throw one of the typed exceptions the format allows,
/// naming the file; anything else fails the test with the case's description. Counts outcomes by exception type and
/// the most common messages, and times every case (the time limit is the caller's to assert).
/// </summary>
internal sealed class FuzzTally(string format, params Type[] allowed)
{
    private readonly Dictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _messages = new(StringComparer.Ordinal);
    public int Cases { get; private set; }
    public TimeSpan Slowest { get; private set; }
    public string SlowestCase { get; private set; } = "";

    /// <summary>One case: <paramref name="body"/> either completes or throws an allowed exception whose message starts with <paramref name="fileName"/>.</summary>
    public void Run(string label, string fileName, Action body)
    {
        var clock = Stopwatch.StartNew();
        string outcome;
        try
        {
            body();
            outcome = "success";
        }
        catch (Exception e) when (allowed.Contains(e.GetType()))
        {
            // A refusal of an in-memory picture (one too small for the processor) has no file to name.
            bool namesNoFile = e is ImageFormatException { FileName: null };
            Assert.True(namesNoFile || e.Message.StartsWith(fileName, StringComparison.Ordinal), $"{label}: {e.GetType().Name} does not name {fileName}: {e.Message}");
            outcome = e.GetType().Name;
            string kind = outcome + ": " + Shape(namesNoFile ? e.Message : e.Message[fileName.Length..]);
            _messages[kind] = _messages.GetValueOrDefault(kind) + 1;
        }
        catch (Exception e)
        {
            // Fails the test, with the case and the original exception and its stack.
            throw new InvalidOperationException($"{format}: {label} threw {e.GetType().Name}: {e.Message}", e);
        }
        clock.Stop();
        Cases++;
        _outcomes[outcome] = _outcomes.GetValueOrDefault(outcome) + 1;
        if (clock.Elapsed > Slowest)
        {
            Slowest = clock.Elapsed;
            SlowestCase = label;
        }
    }

    /// <summary>A message with its file, names, lists and numbers blanked, so that messages from one check count together.</summary>
    private static string Shape(string message)
    {
        string line = message.Split('\n')[0];
        line = Regex.Replace(line, @"^/[^:]*: ", ""); // a file under the folder named (a shard beside an index)
        line = Regex.Replace(line, @"^: ", "");
        line = Regex.Replace(line, @"'[^']*'", "'…'");
        line = Regex.Replace(line, @"\[[^\]]*\]", "[…]");
        line = Regex.Replace(line, @"-?\d[\d.eE+-]*", "N");
        return line.Length > 90 ? line[..90] + "…" : line;
    }

    public int Count(string outcome) => _outcomes.GetValueOrDefault(outcome);

    public void Report(ITestOutputHelper output, int topMessages = 12)
    {
        output.WriteLine($"{format}: {Cases} cases: " + string.Join(", ", _outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Value} {o.Key}")) +
            $"; slowest {Slowest.TotalMilliseconds:F1} ms ({SlowestCase})");
        foreach (var (kind, count) in _messages.OrderByDescending(m => m.Value).Take(topMessages))
            output.WriteLine($"  {count,6}  {kind}");
    }

    /// <summary>Every case ran, and none took longer than <paramref name="limit"/>.</summary>
    public void AssertComplete(int cases, TimeSpan limit)
    {
        Assert.Equal(cases, Cases);
        Assert.True(Slowest <= limit, $"{format}: the slowest case took {Slowest.TotalMilliseconds:F0} ms (limit {limit.TotalMilliseconds:F0} ms): {SlowestCase}");
    }
}
