namespace DepthSharp.Tensors.Kernels;

/// <summary>Process-wide switches for the kernels.</summary>
public static class KernelOptions
{
    private static int _threads = Environment.ProcessorCount;

    /// <summary>Run the plain reference loops instead of the SIMD/threaded kernels (DEPTHSHARP_REFERENCE_KERNELS=1 sets it at start).</summary>
    public static bool ForceReference { get; set; } = Environment.GetEnvironmentVariable("DEPTHSHARP_REFERENCE_KERNELS") == "1";

    /// <summary>Worker threads the fast kernels may use.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), "at least one thread");
    }

    internal static ParallelOptions Parallel => new() { MaxDegreeOfParallelism = _threads };
}
