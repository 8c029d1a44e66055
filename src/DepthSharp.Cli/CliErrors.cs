namespace DepthSharp.Cli;

/// <summary>Turns the library's typed errors into one line on stderr and exit code 1; anything else propagates.</summary>
internal static class CliErrors
{
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
