namespace DepthSharp.Tensors.Kernels;

/// <summary>Process-wide switches for the kernels.</summary>
public static class KernelOptions
{
    private static int _threads = Environment.ProcessorCount;

    private static bool _forceReference = Environment.GetEnvironmentVariable("DEPTHSHARP_REFERENCE_KERNELS") == "1";

    // A scoped choice for one async flow (tests compare both paths while other tests run in parallel).
    private static readonly AsyncLocal<bool?> ScopedReference = new();

    /// <summary>
    /// Run the plain reference loops instead of the SIMD/threaded kernels (DEPTHSHARP_REFERENCE_KERNELS=1 sets it at
    /// start). Setting it is process-wide and affects calls already running. The reference loops give the same numbers
    /// within float rounding, many times slower: they are for checking the fast kernels, not for use.
    /// </summary>
    public static bool ForceReference
    {
        get => ScopedReference.Value ?? _forceReference;
        set => _forceReference = value;
    }

    /// <summary>Makes the calling async flow (and the tasks it starts) use the reference or the fast kernels until disposed.</summary>
    internal static IDisposable UseReference(bool reference)
    {
        var restore = new Restore(ScopedReference.Value);
        ScopedReference.Value = reference;
        return restore;
    }

    private sealed class Restore(bool? previous) : IDisposable
    {
        public void Dispose() => ScopedReference.Value = previous;
    }

    /// <summary>Worker threads the fast kernels may use, process-wide (default: the processor count).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to less than 1.</exception>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "at least one thread");
    }

    internal static ParallelOptions Parallel => new() { MaxDegreeOfParallelism = _threads };
}
