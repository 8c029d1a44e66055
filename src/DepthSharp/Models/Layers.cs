using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// nn.Linear: weight [out, in] in the checkpoint, bias [out]. The weight is kept in one of three forms, chosen at load:
/// quantised to 8 bits when the source quantises (<see cref="Int8LinearWeights"/>), as stored when F16/BF16 (half the
/// memory; the GEMM widens it exactly as it packs), else float32 packed for the GEMM.
/// </summary>
public sealed class Linear
{
    // Prepared once at load: a float32 weight packed in the GEMM's panel layout; a 16-bit or 8-bit one transposed to
    // [in, out] so the GEMM widens it by plain row reads (packing it widened would double or quadruple its memory).
    public PackedWeight? Weight { get; }
    public HalfTensor? HalfWeightT { get; }
    public Int8Weight? Int8WeightT { get; }
    public Tensor? Bias { get; }

    public Linear(Weights w, int inFeatures, int outFeatures, bool bias = true)
    {
        // The checkpoint-layout copies die here; released, they count towards the next collection, so a model's load does
        // not leave its size in garbage behind.
        if (w.GetInt8("weight", outFeatures, inFeatures) is { } int8)
            Int8WeightT = int8;
        else if (w.GetHalf("weight", outFeatures, inFeatures) is { } half)
        {
            HalfWeightT = half.Transpose2D();
            half.Release();
        }
        else
        {
            var weight = w.Get("weight", outFeatures, inFeatures);
            Weight = new PackedWeight(weight);
            weight.Discard();
        }
        Bias = bias ? w.Get("bias", outFeatures) : null;
    }

    public Tensor Forward(Tensor x) =>
        Int8WeightT is { } q ? Ops.LinearInt8(x, q, Bias) : HalfWeightT is { } h ? Ops.LinearWeightT(x, h, Bias) : Ops.Linear(x, Weight!, Bias);
}

/// <summary>nn.Conv2d with a square kernel: weight [out, in, k, k].</summary>
public sealed class Conv2d(Weights w, int inChannels, int outChannels, int kernel, int stride = 1, int padding = 0, bool bias = true)
{
    public Tensor Weight { get; } = w.Get("weight", outChannels, inChannels, kernel, kernel);
    public Tensor? Bias { get; } = bias ? w.Get("bias", outChannels) : null;
    public Tensor Forward(Tensor x) => Ops.Conv2d(x, Weight, Bias, stride, padding);

    /// <summary>conv(relu(x)) when asked, added into <paramref name="addTo"/> when given (see <see cref="Ops.Conv2d"/>).</summary>
    public Tensor Forward(Tensor x, bool reluInput, Tensor? addTo = null) => Ops.Conv2d(x, Weight, Bias, stride, padding, reluInput, addTo);

    /// <summary>
    /// A 1×1 convolution that keeps the channel count, written over its input (the caller's to lose) in bands of
    /// <paramref name="bandRows"/> rows: an output pixel reads only its own input pixel, so each band's result can replace
    /// the band, and no second full-size map is made.
    /// </summary>
    public Tensor ForwardInPlace(Tensor x, int bandRows)
    {
        if (kernel != 1 || stride != 1 || padding != 0 || inChannels != outChannels)
            throw new InvalidOperationException($"only a 1×1 convolution that keeps its channels can overwrite its input, not {Weight}");
        int h = x.Dim(2);
        for (int a = 0; a < h; a += bandRows)
        {
            int rows = Math.Min(bandRows, h - a);
            var band = Ops.Narrow(x, 2, a, rows);
            var projected = Lifetimes.Replace(band, Forward(band));
            Ops.CopySlice(projected, 0, x, a, 2, rows);
            projected.Release();
        }
        return x;
    }
}

/// <summary>nn.ConvTranspose2d with a square kernel: weight [in, out, k, k].</summary>
public sealed class ConvTranspose2d(Weights w, int inChannels, int outChannels, int kernel, int stride, int padding = 0, bool bias = true)
{
    public Tensor Weight { get; } = w.Get("weight", inChannels, outChannels, kernel, kernel);
    public Tensor? Bias { get; } = bias ? w.Get("bias", outChannels) : null;
    public Tensor Forward(Tensor x) => Ops.ConvTranspose2d(x, Weight, Bias, stride, padding);
}

/// <summary>nn.LayerNorm over the last dimension.</summary>
public sealed class LayerNorm(Weights w, int dim, double eps)
{
    public Tensor Weight { get; } = w.Get("weight", dim);
    public Tensor Bias { get; } = w.Get("bias", dim);
    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, (float)eps);
}

/// <summary>nn.BatchNorm2d in inference mode (running statistics; the saved batch count is never read).</summary>
public sealed class BatchNorm2d
{
    private readonly double _eps;

    public BatchNorm2d(Weights w, int channels, double eps = 1e-5)
    {
        _eps = eps;
        Weight = w.Get("weight", channels);
        Bias = w.Get("bias", channels);
        RunningMean = w.Get("running_mean", channels);
        RunningVar = w.Get("running_var", channels);
        w.DeclareUnread(UnreadBuffers.NumBatchesTracked);
    }

    public Tensor Weight { get; }
    public Tensor Bias { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }
    public Tensor Forward(Tensor x) => Ops.BatchNorm(x, RunningMean, RunningVar, Weight, Bias, (float)_eps);
}

/// <summary>
/// The pre-activation residual unit DPT, ZoeDepth and DepthPro share (the reference copies it between them):
/// x + conv(relu(conv(relu(x)))), optionally batch-normed after each convolution. Its intermediates are released.
/// </summary>
public sealed class PreActResidualLayer
{
    public Conv2d Convolution1 { get; }
    public Conv2d Convolution2 { get; }
    public BatchNorm2d? BatchNorm1 { get; }
    public BatchNorm2d? BatchNorm2 { get; }

    public PreActResidualLayer(Weights w, int channels, bool useBatchNorm, bool bias, double batchNormEps = 1e-5)
    {
        Convolution1 = new Conv2d(w["convolution1"], channels, channels, 3, 1, 1, bias);
        Convolution2 = new Conv2d(w["convolution2"], channels, channels, 3, 1, 1, bias);
        if (useBatchNorm)
        {
            BatchNorm1 = new BatchNorm2d(w["batch_norm1"], channels, batchNormEps);
            BatchNorm2 = new BatchNorm2d(w["batch_norm2"], channels, batchNormEps);
        }
    }

    /// <summary>
    /// Forward(hiddenState) written over the input (the caller's to lose, returned) in bands of <paramref name="bandRows"/>
    /// rows, so that no full-size intermediate is made. Each band is read with the two rows beyond it on each side that the
    /// two convolutions reach; the false zero padding at a widened band's inner edges spoils the first convolution's edge
    /// row there and so the second's two edge rows, which are those two extra rows and are not kept.
    /// </summary>
    public Tensor ForwardInBands(Tensor hiddenState, int bandRows)
    {
        int batch = hiddenState.Dim(0), channels = hiddenState.Dim(1), h = hiddenState.Dim(2), w = hiddenState.Dim(3);
        // The rows above the next band as the band above read them: written over, the map no longer holds them.
        Tensor? above = null;
        for (int a = 0; a < h; a += bandRows)
        {
            int b = Math.Min(h, a + bandRows);
            var (x0, x1) = RowBands.Widen(a, b, 2, h);
            var band = Tensor.Empty(batch, channels, x1 - x0, w);
            if (above is not null)
            {
                Ops.CopySlice(above, 0, band, 0, 2, a - x0);
                above.Release();
            }
            Ops.CopySlice(hiddenState, a, band, a - x0, 2, x1 - a);
            int next = Math.Max(0, b - 2);
            above = b < h ? Ops.Narrow(band, 2, next - x0, b - next) : null;
            // The band's rows become the unit's output rows: the residual branch is added into them, as Forward does.
            var h1 = Convolution1.Forward(band, reluInput: true);
            if (BatchNorm1 is not null) h1 = Lifetimes.Replace(h1, BatchNorm1.Forward(h1));
            if (BatchNorm2 is null)
            {
                Convolution2.Forward(h1, reluInput: true, addTo: band);
                h1.Release();
            }
            else
            {
                var h2 = Lifetimes.Replace(h1, Convolution2.Forward(h1, reluInput: true));
                h2 = Lifetimes.Replace(h2, BatchNorm2.Forward(h2));
                Ops.AddInPlace(band, h2);
                h2.Release();
            }
            Ops.CopySlice(band, a - x0, hiddenState, a, 2, b - a);
            band.Release();
        }
        return hiddenState;
    }

    /// <param name="consumeInput">
    /// The input is the caller's to lose: without batch norm the residual branch is then added straight into it (the
    /// result is the input tensor), so only one map besides it is ever alive.
    /// </param>
    public Tensor Forward(Tensor hiddenState, bool consumeInput = false)
    {
        // The relus are applied as the convolutions read their inputs, so no relu'd copy of a map is made.
        var h = Convolution1.Forward(hiddenState, reluInput: true);
        if (BatchNorm1 is not null) h = Lifetimes.Replace(h, BatchNorm1.Forward(h));
        if (consumeInput && BatchNorm2 is null)
        {
            Convolution2.Forward(h, reluInput: true, addTo: hiddenState);
            h.Release();
            return hiddenState;
        }
        h = Lifetimes.Replace(h, Convolution2.Forward(h, reluInput: true));
        if (BatchNorm2 is not null) h = Lifetimes.Replace(h, BatchNorm2.Forward(h));
        Ops.AddInPlace(h, hiddenState);
        if (consumeInput) hiddenState.Release();
        return h;
    }
}

/// <summary>
/// Sizes work done on [B, C, H, W] maps in bands of rows, so that no full-size intermediate is made. A band whose
/// convolutions reach beyond it is read widened by the rows they reach; the rows that its inner edges' false zero padding
/// reached are dropped.
/// </summary>
internal static class RowBands
{
    /// <summary>Bytes of one row of a [B, C, H, W] map, over its batch and channels.</summary>
    public static long RowBytes(Tensor map) => (long)map.Dim(0) * map.Dim(1) * map.Dim(3) * sizeof(float);

    /// <summary>
    /// Rows per band such that a band widened by <paramref name="halo"/> rows in all, at <paramref name="bytesPerRow"/>
    /// each, takes at most <paramref name="budget"/> bytes; at least one, at most <paramref name="height"/>.
    /// </summary>
    public static int Rows(long budget, long bytesPerRow, int halo, int height) => (int)Math.Clamp(budget / bytesPerRow - halo, 1, height);

    /// <summary>
    /// Whether a map of <paramref name="height"/> rows is worth doing in bands of <paramref name="bandRows"/>: band work
    /// keeps about two bands of scratch alive (and then idle in the pool), so a map of fewer than four bands costs little
    /// more memory whole and is done whole.
    /// </summary>
    public static bool Worthwhile(int bandRows, int height) => 4L * bandRows <= height;

    /// <summary>Rows [a, b) widened by <paramref name="halo"/> rows each side, clipped to the map's <paramref name="height"/>.</summary>
    public static (int Start, int End) Widen(int a, int b, int halo, int height) => (Math.Max(0, a - halo), Math.Min(height, b + halo));
}

internal static class Lifetimes
{
    /// <summary>Releases a finished intermediate and returns its successor.</summary>
    public static Tensor Replace(Tensor done, Tensor next)
    {
        done.Release();
        return next;
    }
}

/// <summary>Lets tests observe the output of each module by its checkpoint path; off unless a sink is installed.</summary>
public static class ActivationTrace
{
    private static readonly AsyncLocal<Action<string, Tensor>?> Sink = new();

    /// <summary>Installs a sink for the current async flow; dispose the result to remove it.</summary>
    public static IDisposable Capture(Action<string, Tensor> sink)
    {
        Sink.Value = sink;
        return new Restore();
    }

    /// <summary>Whether a sink listens, for stages whose traced value costs work to make.</summary>
    public static bool Enabled => Sink.Value is not null;

    /// <summary>Hands the sink a copy: the model may release the original's buffer for reuse.</summary>
    public static void Record(string path, Tensor t) => Sink.Value?.Invoke(path, t.Clone());

    private sealed class Restore : IDisposable
    {
        public void Dispose() => Sink.Value = null;
    }
}
