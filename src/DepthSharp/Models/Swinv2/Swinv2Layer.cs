using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Swinv2Intermediate: the MLP's widening layer and its activation.</summary>
internal sealed class Swinv2Intermediate(Weights w, Swinv2Config c, int dim)
{
    public Linear Dense { get; } = new(w["dense"], dim, c.MlpHiddenSize(dim));

    public Tensor Forward(Tensor hiddenStates)
    {
        return Activation.ApplyInPlace(c.HiddenAct, Dense.Forward(hiddenStates));
    }
}

/// <summary>Swinv2Output: the MLP's narrowing layer.</summary>
internal sealed class Swinv2Output(Weights w, Swinv2Config c, int dim)
{
    public Linear Dense { get; } = new(w["dense"], c.MlpHiddenSize(dim), dim);

    public Tensor Forward(Tensor hiddenStates) => Dense.Forward(hiddenStates);
}

/// <summary>
/// Swinv2Layer: a Swin V2 block. Window attention (windows shifted on odd blocks) and the MLP, each normed after it and
/// added to its input (post-norm). The window and shift are fixed at build time from the stage's map at the config's
/// image size; at run time the map is padded right and bottom to whole windows.
/// </summary>
internal sealed class Swinv2Layer
{
    private readonly string _path;
    public int WindowSize { get; }
    public int ShiftSize { get; }
    public Swinv2Attention Attention { get; }
    public LayerNorm LayernormBefore { get; }
    public Swinv2Intermediate Intermediate { get; }
    public Swinv2Output Output { get; }
    public LayerNorm LayernormAfter { get; }

    /// <param name="inputResolution">The side of the stage's map at the config's image size.</param>
    /// <param name="shiftSize">The block's shift before it is fitted to the map (0 on even blocks, window_size / 2 on odd).</param>
    /// <param name="relativePositionIndex">The stage's <see cref="Swinv2SelfAttention.RelativePositionIndex"/> for <see cref="ComputeWindowShift"/>'s window.</param>
    /// <param name="w">The weights under the module's path.</param>
    /// <param name="c">The validated config.</param>
    /// <param name="dim">The stage's channels.</param>
    /// <param name="numHeads">Attention heads.</param>
    /// <param name="pretrainedWindowSize">The window the position-bias MLP was pre-trained on (0: the block's own).</param>
    public Swinv2Layer(Weights w, Swinv2Config c, int dim, int inputResolution, int numHeads, int shiftSize, int pretrainedWindowSize,
        int[] relativePositionIndex)
    {
        _path = w.Prefix;
        (WindowSize, ShiftSize) = ComputeWindowShift(inputResolution, c.WindowSize, shiftSize);
        Attention = new Swinv2Attention(w["attention"], c, dim, numHeads, WindowSize, pretrainedWindowSize, relativePositionIndex);
        LayernormBefore = new LayerNorm(w["layernorm_before"], dim, c.LayerNormEps);
        Intermediate = new Swinv2Intermediate(w["intermediate"], c, dim);
        Output = new Swinv2Output(w["output"], c, dim);
        LayernormAfter = new LayerNorm(w["layernorm_after"], dim, c.LayerNormEps);
    }

    /// <summary>A map no larger than the window is one window, unshifted; otherwise the config's window and the given shift.</summary>
    public static (int Window, int Shift) ComputeWindowShift(int inputResolution, int targetWindow, int targetShift)
    {
        int window = Math.Min(inputResolution, targetWindow);
        return (window, inputResolution <= window ? 0 : targetShift);
    }

    /// <summary>
    /// The shifted-window mask as region labels, [nW · ws²] for the padded heightPad × widthPad map: after the cyclic
    /// shift, the last window row and column hold tokens from up to three bands per axis ([0, H − ws), [H − ws, H − shift),
    /// [H − shift, H)) that were not neighbours, and attention between different bands is masked. Null when unshifted.
    /// </summary>
    public int[]? GetAttnMask(int heightPad, int widthPad)
    {
        if (ShiftSize == 0) return null;
        int ws = WindowSize, rows = heightPad / ws, cols = widthPad / ws;
        int Band(int at, int size) => at < size - ws ? 0 : at < size - ShiftSize ? 1 : 2;
        var regions = new int[rows * cols * ws * ws];
        int t = 0;
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++)
                for (int a = 0; a < ws; a++)
                    for (int e = 0; e < ws; e++)
                        regions[t++] = Band(r * ws + a, heightPad) * 3 + Band(q * ws + e, widthPad);
        return regions;
    }

    /// <summary>[B, height·width, C] → the same shape; the input is left to the caller.</summary>
    public Tensor Forward(Tensor hiddenStates, int height, int width)
    {
        int batchSize = hiddenStates.Dim(0), channels = hiddenStates.Dim(2);
        var shortcut = hiddenStates;
        // Padding to whole windows, the cyclic shift and the partition into windows, in one pass.
        var hiddenStatesWindows = Ops.WindowPartition(hiddenStates.Reshape(batchSize, height, width, channels), WindowSize, ShiftSize);
        var attnMask = GetAttnMask(Ops.WholeWindows(height, WindowSize), Ops.WholeWindows(width, WindowSize));
        var attentionOutput = Attention.Forward(hiddenStatesWindows, attnMask);
        hiddenStatesWindows.Release();
        // The windows merged, shifted back and cropped to the map, in one pass.
        var attentionWindows = Lifetimes.Replace(attentionOutput, Ops.WindowMerge(attentionOutput, WindowSize, height, width, ShiftSize))
            .Reshape(batchSize, height * width, channels);
        hiddenStates = Lifetimes.Replace(attentionWindows, LayernormBefore.Forward(attentionWindows));
        Ops.AddInPlace(hiddenStates, shortcut);

        var layerOutput = Intermediate.Forward(hiddenStates);
        layerOutput = Lifetimes.Replace(layerOutput, Output.Forward(layerOutput));
        layerOutput = Lifetimes.Replace(layerOutput, LayernormAfter.Forward(layerOutput));
        Ops.AddInPlace(layerOutput, hiddenStates);
        hiddenStates.Release();
        ActivationTrace.Record($"{_path}.0", layerOutput);
        return layerOutput;
    }
}
