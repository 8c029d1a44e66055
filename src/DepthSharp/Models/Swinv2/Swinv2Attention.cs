using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Swinv2SelfAttention: cosine attention within windows, each head's cosines scaled by exp(logit_scale) clamped at 100,
/// plus a continuous relative position bias, 16·sigmoid(cpb_mlp(log-spaced offsets)), and the shifted-window mask.
/// </summary>
internal sealed class Swinv2SelfAttention
{
    /// <summary>The reference's clamp on logit_scale, log(1 / 0.01), applied before exp.</summary>
    private static readonly float MaxLogitScale = (float)Math.Log(1.0 / 0.01);

    /// <summary>The mask's value between tokens of different regions; the reference adds its mask to the scores twice.</summary>
    private const float MaskValue = 2 * -100f;

    private readonly int _heads;
    private readonly int[] _relativePositionIndex;
    public Linear Query { get; }
    public Linear Key { get; }
    public Linear Value { get; }
    public Tensor LogitScale { get; }

    /// <summary>exp(min(logit_scale, log 100)) per head.</summary>
    public float[] HeadScales { get; }

    /// <summary>
    /// 16·sigmoid(continuous_position_bias_mlp(relative_coords_table)) as [heads, (2·ws − 1)²]: it depends on the weights
    /// and the window alone, so it is made once here rather than in every forward pass as the reference does.
    /// </summary>
    public Tensor RelativePositionBiasTable { get; }

    /// <param name="relativePositionIndex">The window's key-major offset index (<see cref="RelativePositionIndex"/>), shared by a stage's blocks.</param>
    /// <param name="w">The weights under the module's path.</param>
    /// <param name="c">The validated config.</param>
    /// <param name="dim">The stage's channels.</param>
    /// <param name="heads">Attention heads.</param>
    /// <param name="window">The window's side in tokens.</param>
    /// <param name="pretrainedWindow">The window the position-bias MLP was pre-trained on (0: this one).</param>
    public Swinv2SelfAttention(Weights w, Swinv2Config c, int dim, int heads, int window, int pretrainedWindow, int[] relativePositionIndex)
    {
        if (relativePositionIndex.LongLength != (long)window * window * window * window)
            throw new ArgumentException($"{relativePositionIndex.Length} offset indices do not fit a {window}x{window} window");
        _heads = heads;
        _relativePositionIndex = relativePositionIndex;
        LogitScale = w.Get("logit_scale", heads, 1, 1);
        HeadScales = LogitScale.Data.Select(s => MathF.Exp(MathF.Min(s, MaxLogitScale))).ToArray();
        var mlp = w["continuous_position_bias_mlp"];
        var fc1Weight = mlp[0].Get("weight", 512, 2);
        var fc1Bias = mlp[0].Get("bias", 512);
        var fc2Weight = mlp[2].Get("weight", heads, 512);
        var hidden = Ops.ReluInPlace(Ops.Linear(RelativeCoordsTable(window, pretrainedWindow), new PackedWeight(fc1Weight), fc1Bias));
        var table = Lifetimes.Replace(hidden, Ops.Linear(hidden, new PackedWeight(fc2Weight), null));
        table = Ops.ScaleInPlace(Ops.SigmoidInPlace(table), 16f);
        RelativePositionBiasTable = Lifetimes.Replace(table, Ops.Permute(table, 1, 0));
        fc1Weight.Discard();
        fc1Bias.Discard();
        fc2Weight.Discard();
        Query = new Linear(w["query"], dim, dim, c.QkvBias);
        Key = new Linear(w["key"], dim, dim, bias: false);
        Value = new Linear(w["value"], dim, dim, c.QkvBias);
    }

    /// <summary>
    /// The reference's relative_coords_table for a window: every offset (dy, dx), |d| &lt; ws, row-major, divided by
    /// (pretrained window − 1), else by (ws − 1) when ws &gt; 1, times 8, then sign(x)·log2(|x| + 1) / 3: [(2·ws − 1)², 2].
    /// </summary>
    public static Tensor RelativeCoordsTable(int window, int pretrainedWindow)
    {
        int side = 2 * window - 1;
        float divisor = pretrainedWindow > 0 ? pretrainedWindow - 1 : window > 1 ? window - 1 : 1;
        var table = new float[side * side * 2];
        for (int a = 0; a < side; a++)
            for (int b = 0; b < side; b++)
            {
                table[(a * side + b) * 2] = LogSpaced(a - (window - 1), divisor);
                table[(a * side + b) * 2 + 1] = LogSpaced(b - (window - 1), divisor);
            }
        return new Tensor(table, side * side, 2);
    }

    private static float LogSpaced(int offset, float divisor)
    {
        float x = offset / divisor * 8f;
        return MathF.Sign(x) * MathF.Log2(MathF.Abs(x) + 1f) / 3f;
    }

    /// <summary>
    /// The reference's relative_position_index, stored key-major as the attention kernels read it: entry [j·n + i] (query
    /// i, key j of the ws² window tokens) is (y_i − y_j + ws − 1)·(2·ws − 1) + (x_i − x_j + ws − 1).
    /// </summary>
    public static int[] RelativePositionIndex(int window)
    {
        int n = window * window, side = 2 * window - 1;
        var index = new int[n * n];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < n; i++)
                index[j * n + i] = (i / window - j / window + window - 1) * side + i % window - j % window + window - 1;
        return index;
    }

    /// <param name="hiddenStates">Windows [B·nW, ws², C].</param>
    /// <param name="attentionMask">Region labels of each window's tokens [nW·ws²] (<see cref="Swinv2Layer.GetAttnMask"/>), or null.</param>
    public Tensor Forward(Tensor hiddenStates, int[]? attentionMask)
    {
        var queryLayer = Query.Forward(hiddenStates);
        var keyLayer = Key.Forward(hiddenStates);
        var valueLayer = Value.Forward(hiddenStates);
        var contextLayer = Ops.WindowAttention(queryLayer, keyLayer, valueLayer, _heads, HeadScales, RelativePositionBiasTable,
            _relativePositionIndex, attentionMask, MaskValue);
        queryLayer.Release();
        keyLayer.Release();
        valueLayer.Release();
        return contextLayer;
    }
}

/// <summary>Swinv2SelfOutput: the attention's output projection.</summary>
internal sealed class Swinv2SelfOutput(Weights w, int dim)
{
    public Linear Dense { get; } = new(w["dense"], dim, dim);

    public Tensor Forward(Tensor hiddenStates) => Dense.Forward(hiddenStates);
}

/// <summary>Swinv2Attention: self-attention within windows, then the output projection.</summary>
internal sealed class Swinv2Attention(Weights w, Swinv2Config c, int dim, int heads, int window, int pretrainedWindow, int[] relativePositionIndex)
{
    public Swinv2SelfAttention Self { get; } = new(w["self"], c, dim, heads, window, pretrainedWindow, relativePositionIndex);
    public Swinv2SelfOutput Output { get; } = new(w["output"], dim);

    public Tensor Forward(Tensor hiddenStates, int[]? attentionMask)
    {
        var selfOutputs = Self.Forward(hiddenStates, attentionMask);
        return Lifetimes.Replace(selfOutputs, Output.Forward(selfOutputs));
    }
}
