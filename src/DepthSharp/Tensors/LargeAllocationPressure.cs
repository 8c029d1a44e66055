namespace DepthSharp.Tensors;

/// <summary>
/// Forces a full collection after every half gigabyte of large tensors allocated or released: the decoders' maps are
/// megabytes to hundreds of megabytes each and die young, but the runtime's own budget lets them pile up to several times the live
/// set before it collects (measured: a 16 GB peak for a 5.5 GB live set without this, 7 GB with it).
/// </summary>
internal static class LargeAllocationPressure
{
    // Arrays this size live on the large-object heap, which only a full collection frees.
    private const long LargeBytes = 1L << 20;
    private const long CollectEveryBytes = 512L << 20;
    private static long _sinceCollect;

    public static void Note(long bytes)
    {
        if (bytes < LargeBytes) return;
        if (Interlocked.Add(ref _sinceCollect, bytes) < CollectEveryBytes) return;
        Interlocked.Exchange(ref _sinceCollect, 0);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
    }
}
