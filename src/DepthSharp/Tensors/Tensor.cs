namespace DepthSharp.Tensors;

/// <summary>A dense, contiguous, row-major float32 tensor. Views share storage only through <see cref="Reshape"/>.</summary>
public sealed class Tensor
{
    public float[] Data { get; private set; }
    public int[] Shape { get; }
    public int Rank => Shape.Length;
    public long Length => Data.LongLength;

    public Tensor(float[] data, params int[] shape)
    {
        long n = ShapeSize(shape);
        if (n != data.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} values, data has {data.LongLength}");
        Data = data;
        Shape = (int[])shape.Clone();
    }

    /// <summary>A zero-filled tensor.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        var t = Empty(shape);
        Array.Clear(t.Data);
        return t;
    }

    /// <summary>A tensor whose values are left as the allocator gives them: every element must be written before it is read.</summary>
    public static Tensor Empty(params int[] shape) => new(TensorPool.Rent(ShapeSize(shape)), shape);

    /// <summary>
    /// Declares the buffer dead: a large one goes back to the pool for the next tensor of its size. Only for tensors that
    /// no one reads again, including views made by <see cref="Reshape"/> (release one of them, once); the tensor is empty
    /// afterwards, so a stray use fails loudly.
    /// </summary>
    public void Release()
    {
        var data = Data;
        Data = [];
        TensorPool.Return(data);
    }

    /// <summary>
    /// Declares the buffer dead without pooling it: for a model's load-time copies (a weight in its checkpoint layout),
    /// whose sizes no later tensor asks for; it counts towards the next collection instead.
    /// </summary>
    public void Discard()
    {
        var data = Data;
        Data = [];
        LargeAllocationPressure.Note(data.LongLength * sizeof(float));
    }

    public static long ShapeSize(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension {d}");
            n = checked(n * d);
        }
        if (n > Array.MaxLength) throw new ArgumentException($"a tensor of {n} values is larger than one array can hold");
        return n;
    }

    /// <summary>Size of dimension <paramref name="dim"/>; negative counts from the end.</summary>
    public int Dim(int dim) => Shape[dim < 0 ? Shape.Length + dim : dim];

    public Span<float> Span => Data;

    /// <summary>The same storage under another shape; one dimension may be -1.</summary>
    public Tensor Reshape(params int[] shape)
    {
        int[] s = (int[])shape.Clone();
        int infer = Array.IndexOf(s, -1);
        if (infer >= 0)
        {
            long rest = 1;
            for (int i = 0; i < s.Length; i++) if (i != infer) rest *= s[i];
            if (rest == 0 || Length % rest != 0) throw new ArgumentException($"cannot reshape [{string.Join(", ", Shape)}] to [{string.Join(", ", shape)}]");
            s[infer] = (int)(Length / rest);
        }
        return new Tensor(Data, s);
    }

    public Tensor Clone() => new((float[])Data.Clone(), Shape);

    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}]";
}

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
