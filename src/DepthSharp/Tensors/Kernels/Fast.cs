namespace DepthSharp.Tensors.Kernels;

/// <summary>
/// SIMD and multi-threaded versions of the kernels. Each sits beside its plain <see cref="Reference"/> version in its op
/// family's file (Linear.cs, Convolution.cs, Attention.cs, ...), which is the definition it is tested against.
/// </summary>
internal static partial class Fast
{
    /// <summary>Runs body(start, end) over [0, count) in contiguous chunks, one task per chunk, at most Threads at a time.</summary>
    internal static void ParallelChunks(long count, long minChunk, Action<long, long> body)
    {
        int threads = KernelOptions.Threads;
        long chunks = Math.Min(threads * 4L, Math.Max(1, count / Math.Max(1, minChunk)));
        if (chunks <= 1 || threads == 1) { body(0, count); return; }
        long per = (count + chunks - 1) / chunks;
        WorkerTeam.For((int)chunks, c =>
        {
            long start = c * per, end = Math.Min(count, start + per);
            if (start < end) body(start, end);
        });
    }

    private static void RequireLength(int length, long needed, string name)
    {
        if (length < needed) throw new ArgumentException($"needs {needed} values, has {length}", name);
    }
}
