using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Lets tests observe the output of each module by its checkpoint path; off unless a sink is installed.</summary>
internal static class ActivationTrace
{
    private static readonly AsyncLocal<Action<string, Tensor>?> Sink = new();

    /// <summary>Installs a sink for the current async flow; dispose the result to remove it.</summary>
    public static IDisposable Capture(Action<string, Tensor> sink)
    {
        Sink.Value = sink;
        return new Restore();
    }

    /// <summary>Whether a sink listens, for stages whose traced value costs work to make.</summary>
    public static bool Enabled => Sink.Value is not null;

    /// <summary>Hands the sink a copy: the model may release the original's buffer for reuse.</summary>
    public static void Record(string path, Tensor t) => Sink.Value?.Invoke(path, t.Clone());

    private sealed class Restore : IDisposable
    {
        public void Dispose() => Sink.Value = null;
    }
}
