namespace DepthSharp.Cli;

/// <summary>A command-line input that cannot be used (no pictures found, for instance).</summary>
internal sealed class InputException(string message) : DepthSharpException(message);

/// <summary>
/// Exit codes scripts can rely on: 0 all done, 1 nothing done (bad model, bad arguments, a fatal error),
/// 2 some pictures failed and the others were written, 130 cancelled. Library errors become one line on stderr.
/// </summary>
internal static class CliErrors
{
    public const int SomeFailed = 2;

    public static async Task<int> Run(Func<Task<int>> body)
    {
        try { return await body(); }
        catch (DepthSharpException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled");
            return 130;
        }
    }
}
