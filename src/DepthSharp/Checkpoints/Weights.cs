using DepthSharp.Tensors;

namespace DepthSharp.Checkpoints;

/// <summary>Supplies a model's parameters by full name as the model asks for them.</summary>
internal interface IWeightSource
{
    Tensor Get(string name, int[] shape);

    /// <summary>
    /// The parameter in its stored 16-bit format when the source keeps it so (an F16/BF16 checkpoint), else null and the
    /// caller asks <see cref="Get"/>. For the large matrices, whose memory it halves.
    /// </summary>
    HalfTensor? GetHalf(string name, int[] shape) => null;

    /// <summary>A linear layer's weight [out, in] quantised to 8 bits when the source is asked to (<see cref="Int8LinearWeights"/>), else null.</summary>
    Int8Weight? GetInt8(string name, int[] shape) => null;

    /// <summary>
    /// A module declares a buffer of <see cref="UnreadBuffers"/> by full name: the checkpoint may hold it there, and it is
    /// never read. Sources without a checkpoint have nothing to account for.
    /// </summary>
    void DeclareUnread(string name) { }
}

/// <summary>
/// The buffers reference modules hold and save but never read at inference, by leaf name: the one place that lists
/// them. A checkpoint may carry one only where a module declares it (<see cref="Weights.DeclareUnread"/>); anywhere else
/// it is an unused tensor like any other.
/// </summary>
internal static class UnreadBuffers
{
    /// <summary>
    /// nn.BatchNorm2d's count of training batches, an int64 scalar: only training with momentum=None reads it, and eval
    /// mode uses the running statistics alone.
    /// </summary>
    public const string NumBatchesTracked = "num_batches_tracked";

    /// <summary>Every leaf name a module may declare.</summary>
    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal) { NumBatchesTracked };

    /// <summary>The shapes the reference loads into a scalar buffer: [] as saved, or [1], which PyTorch's loader squeezes.</summary>
    internal static bool IsScalarShape(int[] shape) => shape.Length == 0 || (shape.Length == 1 && shape[0] == 1);
}

/// <summary>
/// A name-prefix builder over a weight source: <c>w["neck"]["layers"][2].Get("weight", ...)</c> asks for
/// "neck.layers.2.weight", so checkpoint names live in one place: the module constructors.
/// </summary>
internal sealed class Weights(IWeightSource source, string prefix = "")
{
    public string Prefix { get; } = prefix;
    public IWeightSource Source { get; } = source;

    public Weights this[string name] => new(Source, Join(name));
    public Weights this[int index] => new(Source, Join(index.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    public Tensor Get(string name, params int[] shape) => Source.Get(Join(name), shape);

    /// <summary>The parameter as stored if that is F16/BF16, else null (see <see cref="IWeightSource.GetHalf"/>).</summary>
    public HalfTensor? GetHalf(string name, params int[] shape) => Source.GetHalf(Join(name), shape);

    /// <summary>The linear weight quantised to 8 bits if the source quantises, else null (see <see cref="IWeightSource.GetInt8"/>).</summary>
    public Int8Weight? GetInt8(string name, params int[] shape) => Source.GetInt8(Join(name), shape);

    /// <summary>Declares the unread buffer <paramref name="name"/> (one of <see cref="UnreadBuffers.Names"/>) of this module.</summary>
    public void DeclareUnread(string name)
    {
        if (!UnreadBuffers.Names.Contains(name))
            throw new ArgumentException($"'{name}' is not one of the unread buffers ({string.Join(", ", UnreadBuffers.Names)})", nameof(name));
        Source.DeclareUnread(Join(name));
    }

    private string Join(string name) => Prefix.Length == 0 ? name : $"{Prefix}.{name}";
}

/// <summary>
/// Takes parameters from a checkpoint and keeps account: every tensor the model asks for that is missing or of
/// another shape, and (in <see cref="Finish"/>) every tensor of the checkpoint nobody asked for, is reported by name.
/// </summary>
internal sealed class CheckpointWeights(Checkpoint checkpoint) : IWeightSource
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly List<string> _problems = [];

    public Tensor Get(string name, int[] shape)
    {
        _used.Add(name);
        if (!checkpoint.Contains(name))
            return Placeholder($"missing tensor '{name}' [{string.Join(", ", shape)}]", shape);
        var entry = checkpoint.Entry(name);
        if (!entry.Shape.AsSpan().SequenceEqual(shape))
            return Placeholder($"tensor '{name}' has shape [{string.Join(", ", entry.Shape)}] in {Path.GetFileName(entry.FileName)}, the model expects [{string.Join(", ", shape)}]", shape);
        return checkpoint.Read(name);
    }

    // Zeros stand in for a missing or misshapen tensor so the model builds on and every problem is listed. A config that
    // does not fit the checkpoint can ask for any number of tensors of any size (a billion layers, a width of two
    // billion), so past these bounds loading stops with the problems found so far.
    private const int MaxProblems = 1000;
    private const long MaxPlaceholderValues = 64L << 20;
    private long _placeholderValues;

    private Tensor Placeholder(string problem, int[] shape)
    {
        _problems.Add(problem);
        long values;
        try { values = Tensor.ShapeSize(shape); }
        catch (Exception e) when (e is ArgumentException or OverflowException) { values = long.MaxValue; }
        if (_problems.Count >= MaxProblems || values > MaxPlaceholderValues - _placeholderValues)
        {
            var unused = checkpoint.Names.Where(n => !_used.Contains(n)).Order(StringComparer.Ordinal).ToList();
            throw Failure($" (stopped here: the model does not fit this checkpoint{(values == long.MaxValue ? $" and asks for a tensor of impossible shape [{string.Join(", ", shape)}]" : "")}; " +
                $"{unused.Count} of its tensors not asked for so far{(unused.Count > 0 ? $", such as '{string.Join("', '", unused.Take(3))}'" : "")})");
        }
        _placeholderValues += values;
        return Tensor.Zeros(shape);
    }

    private CheckpointException Failure(string stopped = "") => new(checkpoint.Source,
        $"{_problems.Count} problem(s) loading the model{stopped}:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", _problems));

    public HalfTensor? GetHalf(string name, int[] shape)
    {
        if (!checkpoint.Contains(name)) return null;
        var entry = checkpoint.Entry(name);
        if (entry.DType is not (StoredDType.F16 or StoredDType.BF16) || !entry.Shape.AsSpan().SequenceEqual(shape)) return null;
        _used.Add(name);
        return checkpoint.ReadHalf(name);
    }

    public void DeclareUnread(string name)
    {
        if (!checkpoint.Contains(name)) return; // PyTorch fills in a buffer a checkpoint lacks
        _used.Add(name);
        var entry = checkpoint.Entry(name);
        if (!UnreadBuffers.IsScalarShape(entry.Shape))
            _problems.Add($"buffer '{name}' has shape [{string.Join(", ", entry.Shape)}] in {Path.GetFileName(entry.FileName)}, the model expects a scalar");
    }

    /// <summary>Throws one <see cref="CheckpointException"/> listing every problem; names matching an ignored prefix may stay unused.</summary>
    public void Finish(params string[] ignoredUnusedPrefixes)
    {
        foreach (var name in checkpoint.Names.Order(StringComparer.Ordinal))
            if (!_used.Contains(name) && !ignoredUnusedPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
                _problems.Add($"unused tensor '{name}'");
        if (_problems.Count > 0) throw Failure();
    }
}

/// <summary>
/// Random parameters for benchmarks: normal-scaled weights, unit norms and layer scales, zero biases. With
/// <paramref name="halfKind"/> set, matrices asked for as stored come in that 16-bit format, like a half-width checkpoint's.
/// </summary>
internal sealed class RandomWeights(int seed, HalfKind? halfKind = null) : IWeightSource
{
    private readonly Random _rng = new(seed);

    public HalfTensor? GetHalf(string name, int[] shape)
    {
        if (halfKind is not { } kind) return null;
        // Straight from float32 values, not through a float32 tensor (whose pooled buffer would outlive the load); the
        // values are counted towards the next collection instead.
        var wide = Values(name, shape);
        var bits = HalfConvert.Narrow(wide, kind);
        LargeAllocationPressure.Note(wide.LongLength * sizeof(float));
        return new HalfTensor(bits, kind, shape);
    }

    public Tensor Get(string name, int[] shape) => new(Values(name, shape), shape);

    private float[] Values(string name, int[] shape)
    {
        var t = new float[Tensor.ShapeSize(shape)];
        string leaf = name[(name.LastIndexOf('.') + 1)..];
        bool isNorm = name.Contains("norm", StringComparison.Ordinal);
        if (leaf == "bias" || (leaf == "running_mean")) return t;
        if ((isNorm && leaf == "weight") || leaf == "lambda1" || leaf == "running_var") Array.Fill(t, 1f);
        else
        {
            // Fan-in scaling keeps activations bounded through deep stacks, so no denormals or infinities skew timings.
            long fanIn = shape.Length >= 2 ? t.Length / shape[0] : shape.Length == 1 ? shape[0] : 1;
            float a = (float)(1.0 / Math.Sqrt(Math.Max(1, fanIn)));
            for (int i = 0; i < t.Length; i++) t[i] = (float)(_rng.NextDouble() * 2 - 1) * a;
        }
        return t;
    }
}

/// <summary>
/// Another source's parameters with every linear layer's weight quantised to 8 bits as it loads (<see cref="Int8Weight"/>),
/// from whatever format the source stores; everything else passes through unchanged. <paramref name="sourceName"/> (the
/// checkpoint's file or folder) names where a weight that cannot be quantised came from.
/// </summary>
internal sealed class Int8LinearWeights(IWeightSource inner, string? sourceName = null) : IWeightSource
{
    public Tensor Get(string name, int[] shape) => inner.Get(name, shape);

    public HalfTensor? GetHalf(string name, int[] shape) => inner.GetHalf(name, shape);

    public void DeclareUnread(string name) => inner.DeclareUnread(name);

    public Int8Weight? GetInt8(string name, int[] shape)
    {
        Tensor w;
        if (inner.GetHalf(name, shape) is { } half)
        {
            w = half.ToFloat();
            half.Release();
        }
        else w = inner.Get(name, shape);
        try
        {
            return Int8Weight.Quantize(w);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException(sourceName, $"tensor '{name}' cannot be quantised to 8 bits: {e.Message}");
        }
        finally
        {
            w.Discard();
        }
    }
}

/// <summary>Records the name and shape of every parameter, and the name of every declared unread buffer, without reading anything; values are zeros.</summary>
internal sealed class ShapeRecorder : IWeightSource
{
    public Dictionary<string, int[]> Shapes { get; } = new(StringComparer.Ordinal);

    /// <summary>The unread buffers the modules declared (<see cref="UnreadBuffers"/>), which a checkpoint holds as scalars.</summary>
    public HashSet<string> Buffers { get; } = new(StringComparer.Ordinal);

    public void DeclareUnread(string name)
    {
        if (!Buffers.Add(name)) throw new InvalidOperationException($"buffer '{name}' declared twice");
    }

    public Tensor Get(string name, int[] shape)
    {
        if (!Shapes.TryAdd(name, shape)) throw new InvalidOperationException($"parameter '{name}' requested twice");
        return Tensor.Zeros(shape);
    }
}
