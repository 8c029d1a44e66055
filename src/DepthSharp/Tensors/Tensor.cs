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
