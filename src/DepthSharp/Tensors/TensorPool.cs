namespace DepthSharp.Tensors;

/// <summary>
/// Recycles the large buffers of released tensors for the next tensor of the same length: the models allocate the same
/// few sizes over and over (one transformer layer's temporaries, one decoder level's maps), so a buffer is usually reused
/// at once instead of lying dead until a collection while a fresh one is faulted in. The buffers held idle are capped
/// (past the cap the oldest are dropped to the collector), and before a large buffer that none fits is allocated, all
/// idle ones are dropped and collected, so the peak is the live set rather than the live set plus the pool.
/// </summary>
internal static class TensorPool
{
    private const long CapBytes = 1L << 30;
    private const long DropIdleBeforeBytes = 64L << 20;
    private static readonly List<float[]> Idle = [];
    private static long _idleBytes;

    /// <summary>Smallest buffer pooled, in bytes; tests lower it so every buffer of a small model goes through the pool.</summary>
    internal static long MinBytes { get; set; } = 1L << 20;

    public static float[] Rent(long length)
    {
        long bytes = length * sizeof(float);
        if (bytes >= MinBytes && bytes > 0)
            lock (Idle)
                for (int i = Idle.Count - 1; i >= 0; i--)
                    if (Idle[i].LongLength == length)
                    {
                        var hit = Idle[i];
                        Idle.RemoveAt(i);
                        _idleBytes -= bytes;
                        return hit;
                    }
        if (bytes >= DropIdleBeforeBytes) DropIdle();
        LargeAllocationPressure.Note(bytes);
        return GC.AllocateUninitializedArray<float>((int)length);
    }

    public static void Return(float[] data)
    {
        long bytes = data.LongLength * sizeof(float);
        if (bytes < MinBytes || bytes == 0)
        {
            LargeAllocationPressure.Note(bytes);
            return;
        }
        long dropped = 0;
        lock (Idle)
        {
            // Two releases of one buffer (a tensor and its reshaped view) would hand it to two tensors at once.
            foreach (var idle in Idle)
                if (ReferenceEquals(idle, data)) throw new InvalidOperationException("a tensor buffer was released twice");
            Idle.Add(data);
            _idleBytes += bytes;
            while (_idleBytes > CapBytes)
            {
                long b = Idle[0].LongLength * sizeof(float);
                Idle.RemoveAt(0);
                _idleBytes -= b;
                dropped += b;
            }
        }
        LargeAllocationPressure.Note(dropped);
    }

    /// <summary>Drops every idle buffer and has the collector reclaim them.</summary>
    internal static void DropIdle()
    {
        lock (Idle)
        {
            if (_idleBytes == 0) return;
            Idle.Clear();
            _idleBytes = 0;
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
    }
}
