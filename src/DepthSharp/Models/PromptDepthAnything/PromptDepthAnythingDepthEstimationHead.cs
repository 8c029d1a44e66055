using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// conv → bilinear resize (align_corners) to the input's patch-aligned size → conv, ReLU → 1×1 conv, then ReLU
/// (relative) or sigmoid (metric). Unlike Depth Anything's, it does not scale by max_depth: a prompt sets the scale.
/// </summary>
internal sealed class PromptDepthAnythingDepthEstimationHead
{
    private readonly string _path;
    private readonly int _patchSize;
    private readonly DepthEstimationType _kind;
    /// <summary>fusion → fusion / 2 channels, 3×3.</summary>
    public Conv2d Conv1 { get; }
    /// <summary>fusion / 2 → head_hidden_size channels, 3×3.</summary>
    public Conv2d Conv2 { get; }
    /// <summary>head_hidden_size → 1 channel, 1×1.</summary>
    public Conv2d Conv3 { get; }

    /// <summary>Takes the head's weights under <paramref name="w"/> (head).</summary>
    public PromptDepthAnythingDepthEstimationHead(Weights w, PromptDepthAnythingConfig c)
    {
        _path = w.Prefix;
        _patchSize = c.PatchSize;
        _kind = c.DepthEstimationType;
        int f = c.FusionHiddenSize;
        Conv1 = new Conv2d(w["conv1"], f, f / 2, 3, 1, 1);
        Conv2 = new Conv2d(w["conv2"], f / 2, c.HeadHiddenSize, 3, 1, 1);
        Conv3 = new Conv2d(w["conv3"], c.HeadHiddenSize, 1, 1);
    }

    /// <summary>The last fused map [B, fusion, h, w] (the caller's, kept) → depth [B, patchHeight·p, patchWidth·p].</summary>
    public Tensor Forward(Tensor hiddenState, int patchHeight, int patchWidth)
    {
        var predictedDepth = Conv1.Forward(hiddenState);
        predictedDepth = Lifetimes.Replace(predictedDepth, Ops.Interpolate(predictedDepth, patchHeight * _patchSize, patchWidth * _patchSize,
            InterpolationMode.Bilinear, alignCorners: true));
        predictedDepth = Lifetimes.Replace(predictedDepth, Conv2.Forward(predictedDepth));
        // conv3 reads relu(conv2) as it goes (activation1).
        predictedDepth = Lifetimes.Replace(predictedDepth, Conv3.Forward(predictedDepth, reluInput: true));
        predictedDepth = _kind == DepthEstimationType.Metric ? Ops.SigmoidInPlace(predictedDepth) : Ops.ReluInPlace(predictedDepth);
        var depth = predictedDepth.Reshape(predictedDepth.Dim(0), predictedDepth.Dim(2), predictedDepth.Dim(3));
        ActivationTrace.Record(_path, depth);
        return depth;
    }
}
