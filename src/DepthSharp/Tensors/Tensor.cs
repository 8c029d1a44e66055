namespace DepthSharp.Tensors;

/// <summary>A dense, contiguous, row-major float32 tensor. Views share storage only through <see cref="Reshape"/>.</summary>
public sealed class Tensor
{
    /// <summary>The values, row-major (the last dimension varies fastest); <see cref="Length"/> of them.</summary>
    public float[] Data { get; private set; }

    /// <summary>The dimensions, outermost first (e.g. [batch, channels, height, width]). Do not modify it.</summary>
    public int[] Shape { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>The number of values: the product of <see cref="Shape"/>.</summary>
    public long Length => Data.LongLength;

    /// <summary>A tensor over <paramref name="data"/> (not copied) with the given shape.</summary>
    /// <param name="data">The values, row-major.</param>
    /// <param name="shape">The dimensions, outermost first; their product must be data's length.</param>
    /// <exception cref="ArgumentException">The shape has a negative dimension or does not hold exactly data's values.</exception>
    public Tensor(float[] data, params int[] shape)
    {
        long n = ShapeSize(shape);
        if (n != data.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} values, data has {data.LongLength}");
        Data = data;
        Shape = (int[])shape.Clone();
    }

    /// <summary>A zero-filled tensor.</summary>
    /// <param name="shape">The dimensions, outermost first.</param>
    /// <exception cref="ArgumentException">A dimension is negative or the tensor would not fit in one array.</exception>
    public static Tensor Zeros(params int[] shape)
    {
        var t = Empty(shape);
        Array.Clear(t.Data);
        return t;
    }

    /// <summary>A tensor whose values are left as the allocator gives them: every element must be written before it is read.</summary>
    internal static Tensor Empty(params int[] shape) => new(TensorPool.Rent(ShapeSize(shape)), shape);

    /// <summary>
    /// Declares the buffer dead: a large one goes back to the pool for the next tensor of its size. Only for tensors that
    /// no one reads again, including views made by <see cref="Reshape"/> (release one of them, once); the tensor is empty
    /// afterwards, so a stray use fails loudly.
    /// </summary>
    internal void Release()
    {
        var data = Data;
        Data = [];
        TensorPool.Return(data);
    }

    /// <summary>
    /// Declares the buffer dead without pooling it: for a model's load-time copies (a weight in its checkpoint layout),
    /// whose sizes no later tensor asks for; it counts towards the next collection instead.
    /// </summary>
    internal void Discard()
    {
        var data = Data;
        Data = [];
        LargeAllocationPressure.Note(data.LongLength * sizeof(float));
    }

    /// <summary>The number of values a tensor of <paramref name="shape"/> holds (1 for the empty shape, a scalar).</summary>
    /// <param name="shape">The dimensions.</param>
    /// <exception cref="ArgumentException">A dimension is negative, or the product is more than one .NET array can hold.</exception>
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
    /// <param name="dim">0 for the outermost dimension, -1 for the last.</param>
    /// <exception cref="IndexOutOfRangeException">The tensor has no such dimension.</exception>
    public int Dim(int dim) => Shape[dim < 0 ? Shape.Length + dim : dim];

    /// <summary>The values as a span over <see cref="Data"/>.</summary>
    public Span<float> Span => Data;

    /// <summary>The same storage under another shape with as many values; one dimension may be -1, inferred from the rest.</summary>
    /// <param name="shape">The new dimensions.</param>
    /// <exception cref="ArgumentException">The shape does not hold exactly this tensor's values.</exception>
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

    /// <summary>A copy with its own storage.</summary>
    public Tensor Clone() => new((float[])Data.Clone(), Shape);

    /// <summary>"Tensor[d0, d1, ...]": the shape, not the values.</summary>
    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}]";
}
