using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Selective feature fusion: from the local and global maps side by side, three 3×3 convolutions make a two-channel
/// sigmoid map that weighs each of them, pixel by pixel, in their sum.
/// </summary>
internal sealed class GLPNSelectiveFeatureFusion
{
    private readonly string _path;
    /// <summary>convolutional_layer1.0: 3×3, 2C → C.</summary>
    public Conv2d ConvolutionalLayer1 { get; }
    /// <summary>convolutional_layer1.1, followed by ReLU.</summary>
    public BatchNorm2d BatchNorm1 { get; }
    /// <summary>convolutional_layer2.0: 3×3, C → C/2.</summary>
    public Conv2d ConvolutionalLayer2 { get; }
    /// <summary>convolutional_layer2.1, followed by ReLU.</summary>
    public BatchNorm2d BatchNorm2 { get; }
    /// <summary>convolutional_layer3: 3×3, C/2 → 2, the two attention planes before the sigmoid.</summary>
    public Conv2d ConvolutionalLayer3 { get; }

    /// <summary>Reads the fusion's weights under <paramref name="w"/> for maps of <paramref name="inChannel"/> channels.</summary>
    public GLPNSelectiveFeatureFusion(Weights w, int inChannel)
    {
        _path = w.Prefix;
        ConvolutionalLayer1 = new Conv2d(w["convolutional_layer1"][0], 2 * inChannel, inChannel, 3, 1, 1);
        BatchNorm1 = new BatchNorm2d(w["convolutional_layer1"][1], inChannel, GLPNConfig.BatchNormEps);
        ConvolutionalLayer2 = new Conv2d(w["convolutional_layer2"][0], inChannel, inChannel / 2, 3, 1, 1);
        BatchNorm2 = new BatchNorm2d(w["convolutional_layer2"][1], inChannel / 2, GLPNConfig.BatchNormEps);
        ConvolutionalLayer3 = new Conv2d(w["convolutional_layer3"], inChannel / 2, 2, 3, 1, 1);
    }

    /// <summary>Local and global maps [B, C, h, w] (the caller's, kept) → their weighted sum.</summary>
    public Tensor Forward(Tensor localFeatures, Tensor globalFeatures)
    {
        var features = Ops.Concat(1, localFeatures, globalFeatures);
        features = Lifetimes.Replace(features, ConvolutionalLayer1.Forward(features));
        features = Lifetimes.Replace(features, Ops.ReluInPlace(BatchNorm1.Forward(features)));
        features = Lifetimes.Replace(features, ConvolutionalLayer2.Forward(features));
        features = Lifetimes.Replace(features, Ops.ReluInPlace(BatchNorm2.Forward(features)));
        features = Lifetimes.Replace(features, ConvolutionalLayer3.Forward(features));
        var attn = Ops.SigmoidInPlace(features);
        var hybridFeatures = WeightedSum(localFeatures, globalFeatures, attn);
        attn.Release();
        ActivationTrace.Record(_path, hybridFeatures);
        return hybridFeatures;
    }

    /// <summary>local · attn[:, 0] + global · attn[:, 1], each attention plane broadcast over the channels.</summary>
    private static Tensor WeightedSum(Tensor local, Tensor global, Tensor attn)
    {
        int batch = local.Dim(0), channels = local.Dim(1), plane = local.Dim(2) * local.Dim(3);
        var y = Tensor.Empty(local.Shape);
        for (int b = 0; b < batch; b++)
        {
            var a0 = attn.Data.AsSpan(2 * b * plane, plane);
            var a1 = attn.Data.AsSpan((2 * b + 1) * plane, plane);
            for (int c = 0; c < channels; c++)
            {
                int at = (b * channels + c) * plane;
                var l = local.Data.AsSpan(at, plane);
                var g = global.Data.AsSpan(at, plane);
                var o = y.Data.AsSpan(at, plane);
                for (int p = 0; p < plane; p++) o[p] = l[p] * a0[p] + g[p] * a1[p];
            }
        }
        return y;
    }
}

/// <summary>A 1×1 convolution to the decoder's width (none when the widths agree), fusion with the previous stage, ×2 bilinear upsampling.</summary>
internal sealed class GLPNDecoderStage
{
    /// <summary>The 1×1 convolution to the decoder's width; null (nn.Identity) when the encoder map already has it.</summary>
    public Conv2d? Convolution { get; }
    /// <summary>The fusion with the previous stage's output; null in the first stage.</summary>
    public GLPNSelectiveFeatureFusion? Fusion { get; }

    /// <summary>A stage from an encoder map of <paramref name="inChannels"/> to <paramref name="outChannels"/>, fusing when <paramref name="fuse"/>.</summary>
    public GLPNDecoderStage(Weights w, int inChannels, int outChannels, bool fuse)
    {
        if (inChannels != outChannels) Convolution = new Conv2d(w["convolution"], inChannels, outChannels, 1);
        if (fuse) Fusion = new GLPNSelectiveFeatureFusion(w["fusion"], outChannels);
    }

    /// <summary>An encoder map and the previous stage's output (both the caller's, kept) → this stage's output at twice the size.</summary>
    public Tensor Forward(Tensor hiddenState, Tensor? residual)
    {
        var hidden = Convolution?.Forward(hiddenState) ?? hiddenState;
        if (residual is not null)
        {
            // Only the first stage, which has no fusion, is called without a residual.
            var fused = Fusion!.Forward(hidden, residual);
            if (!ReferenceEquals(hidden, hiddenState)) hidden.Release();
            hidden = fused;
        }
        var upsampled = Ops.Interpolate(hidden, 2.0, InterpolationMode.Bilinear, alignCorners: false);
        if (!ReferenceEquals(hidden, hiddenState)) hidden.Release();
        return upsampled;
    }
}

/// <summary>The encoder's maps from the deepest up, each stage fusing the one before; the last output is upsampled once more.</summary>
internal sealed class GLPNDecoder
{
    private readonly string _path;
    /// <summary>One stage per encoder map, deepest first.</summary>
    public GLPNDecoderStage[] Stages { get; }

    /// <summary>Reads the decoder's weights under <paramref name="w"/>.</summary>
    public GLPNDecoder(Weights w, GLPNConfig c)
    {
        _path = w.Prefix;
        int n = c.NumEncoderBlocks;
        // Deepest first; the first stage has nothing to fuse with.
        Stages = Enumerable.Range(0, n)
            .Select(i => new GLPNDecoderStage(w["stages"][i], c.HiddenSizes[n - 1 - i], c.DecoderHiddenSize, fuse: i > 0)).ToArray();
    }

    /// <summary>
    /// The encoder's maps (released as they are used) → stage output <paramref name="keep"/> of the reference's list (the
    /// last one after the final upsampling), which the head reads; the others are released once the next stage has them.
    /// </summary>
    public Tensor Forward(Tensor[] hiddenStates, int keep, ForwardContext context)
    {
        Tensor? stageHiddenState = null, kept = null;
        int last = Stages.Length - 1;
        for (int i = 0; i <= last; i++)
        {
            var encoderMap = hiddenStates[last - i];
            var next = Stages[i].Forward(encoderMap, stageHiddenState);
            encoderMap.Release();
            hiddenStates[last - i] = null!;
            if (stageHiddenState is not null && !ReferenceEquals(stageHiddenState, kept)) stageHiddenState.Release();
            stageHiddenState = next;
            if (i == last && (keep == last || ActivationTrace.Enabled))
            {
                // nn.Upsample(scale_factor=2): the same resize as the stages'.
                var final = Ops.Interpolate(next, 2.0, InterpolationMode.Bilinear, alignCorners: false);
                if (!ReferenceEquals(next, kept)) next.Release();
                stageHiddenState = next = final;
            }
            ActivationTrace.Record($"{_path}.{i}", next);
            if (i == keep) kept = next;
            context.Step("decoder");
        }
        if (!ReferenceEquals(stageHiddenState, kept)) stageHiddenState!.Release();
        return kept!;
    }
}

/// <summary>3×3 convolution, ReLU, 3×3 convolution to one channel; sigmoid scaled to max_depth.</summary>
internal sealed class GLPNDepthEstimationHead
{
    private readonly string _path;
    private readonly float _maxDepth;
    /// <summary>head.0: 3×3, C → C.</summary>
    public Conv2d Head0 { get; }
    /// <summary>head.2: 3×3, C → 1 (after the ReLU at head.1).</summary>
    public Conv2d Head2 { get; }

    /// <summary>Reads the head's weights under <paramref name="w"/>.</summary>
    public GLPNDepthEstimationHead(Weights w, GLPNConfig c)
    {
        _path = w.Prefix;
        _maxDepth = (float)c.MaxDepth;
        int channels = c.DecoderHiddenSize;
        Head0 = new Conv2d(w["head"][0], channels, channels, 3, 1, 1);
        Head2 = new Conv2d(w["head"][2], channels, 1, 3, 1, 1);
    }

    /// <summary>The decoder output the head reads, [B, C, h, w] (the caller's, kept) → depth [B, h, w].</summary>
    public Tensor Forward(Tensor hiddenStates)
    {
        var hidden = Head0.Forward(hiddenStates);
        // The ReLU between the convolutions is applied as the second one reads its input.
        hidden = Lifetimes.Replace(hidden, Head2.Forward(hidden, reluInput: true));
        var predictedDepth = Ops.ScaleInPlace(Ops.SigmoidInPlace(hidden), _maxDepth);
        predictedDepth = predictedDepth.Reshape(predictedDepth.Dim(0), predictedDepth.Dim(2), predictedDepth.Dim(3));
        ActivationTrace.Record(_path, predictedDepth);
        return predictedDepth;
    }
}
