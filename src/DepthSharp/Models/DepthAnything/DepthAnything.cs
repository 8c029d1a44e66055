using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Reassembles the backbone's stages into maps at the configured scales, brings them to the fusion width and fuses them.</summary>
internal sealed class DepthAnythingNeck
{
    public DPTReassembleLayer[] ReassembleLayers { get; }
    public Conv2d[] Convs { get; }
    public DPTFeatureFusionStage FusionStage { get; }

    public DepthAnythingNeck(Weights w, DepthAnythingConfig c)
    {
        ReassembleLayers = c.NeckHiddenSizes.Select((ch, i) =>
            new DPTReassembleLayer(w["reassemble_stage"]["layers"][i], c.ReassembleHiddenSize, ch, c.ReassembleFactors[i])).ToArray();
        Convs = c.NeckHiddenSizes.Select((ch, i) => new Conv2d(w["convs"][i], ch, c.FusionHiddenSize, 3, 1, 1, bias: false)).ToArray();
        FusionStage = new DPTFeatureFusionStage(w["fusion_stage"], w.Prefix, Convs.Length, c.FusionHiddenSize,
            new ResidualUnitStyle(BatchNorm: false, Bias: true), c.HeadInIndex, FusionUpsampling.ToNextMap);
    }

    /// <summary>Backbone token sequences (released as they are used) → the fused map the head reads.</summary>
    public Tensor Forward(Tensor[] hiddenStates, int gridH, int gridW, ForwardContext context)
    {
        var features = new Tensor[hiddenStates.Length];
        for (int i = 0; i < hiddenStates.Length; i++)
        {
            var tokens = TokenMaps.PatchTokensToMap(hiddenStates[i], gridH, gridW);
            TokenMaps.ReleaseRead(hiddenStates, i);
            var map = Lifetimes.Replace(tokens, ReassembleLayers[i].Forward(tokens));
            features[i] = Lifetimes.Replace(map, Convs[i].Forward(map));
        }
        return FusionStage.Forward(features, context);
    }
}

/// <summary>
/// conv → bilinear resize to the input's patch-aligned size → conv, ReLU → 1×1 conv, then ReLU (relative: inverse
/// depth) or sigmoid (metric), times max_depth.
/// </summary>
/// <param name="w">The head's weights (head).</param>
/// <param name="patchSize">patch_size: the output is the token grid times this.</param>
/// <param name="fusionHiddenSize">fusion_hidden_size: channels of the fused map it reads.</param>
/// <param name="headHiddenSize">head_hidden_size: channels of the second convolution.</param>
/// <param name="kind">depth_estimation_type: the final activation.</param>
/// <param name="maxDepth">The factor after the activation (1: none).</param>
internal sealed class DepthAnythingDepthEstimationHead(Weights w, int patchSize, int fusionHiddenSize, int headHiddenSize,
    DepthEstimationType kind, double maxDepth)
{
    private readonly string _path = w.Prefix;
    private readonly Func<Tensor, Tensor> _activation2 = kind == DepthEstimationType.Metric ? Ops.SigmoidInPlace : Ops.ReluInPlace;
    public Conv2d Conv1 { get; } = new(w["conv1"], fusionHiddenSize, fusionHiddenSize / 2, 3, 1, 1);
    public Conv2d Conv2 { get; } = new(w["conv2"], fusionHiddenSize / 2, headHiddenSize, 3, 1, 1);
    public Conv2d Conv3 { get; } = new(w["conv3"], headHiddenSize, 1, 1);

    public DepthAnythingDepthEstimationHead(Weights w, DepthAnythingConfig c)
        : this(w, c.PatchSize, c.FusionHiddenSize, c.HeadHiddenSize, c.DepthEstimationType, c.MaxDepthScale)
    {
    }

    /// <summary>[B, fusion, h, w] (the caller's, kept) → depth [B, gridH·p, gridW·p].</summary>
    public Tensor Forward(Tensor hidden, int gridH, int gridW)
    {
        var x = Conv1.Forward(hidden);
        x = Lifetimes.Replace(x, Ops.Interpolate(x, gridH * patchSize, gridW * patchSize, InterpolationMode.Bilinear, alignCorners: true));
        x = Lifetimes.Replace(x, Conv2.Forward(x));
        x = Lifetimes.Replace(x, Conv3.Forward(x, reluInput: true));
        x = _activation2(x);
        if (maxDepth != 1) Ops.ScaleInPlace(x, (float)maxDepth);
        var depth = x.Reshape(x.Dim(0), x.Dim(2), x.Dim(3));
        ActivationTrace.Record(_path, depth);
        return depth;
    }
}

/// <summary>transformers' DepthAnythingForDepthEstimation: a DINOv2 backbone, the DPT-style neck and the depth head.</summary>
public sealed class DepthAnythingForDepthEstimation
{
    /// <summary>The validated config.json the model was built from.</summary>
    public DepthAnythingConfig Config { get; }
    internal Dinov2Backbone Backbone { get; }
    internal DepthAnythingNeck Neck { get; }
    internal DepthAnythingDepthEstimationHead Head { get; }

    /// <summary>
    /// The model of a folder (config.json and model.safetensors or a sharded index), loaded strictly: every missing,
    /// unused or misshapen tensor is reported by name. <paramref name="options"/> asks for 8-bit or random weights.
    /// </summary>
    /// <param name="folder">The model folder: config.json and model.safetensors (or model.safetensors.index.json and its shards).</param>
    /// <param name="options">8-bit or random weights; null: the checkpoint's as stored.</param>
    /// <exception cref="ConfigException">config.json is missing a value or has an impossible one.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the config.</exception>
    public static DepthAnythingForDepthEstimation FromPretrained(string folder, PretrainedOptions? options = null)
    {
        var config = DepthAnythingConfig.Load(Path.Combine(folder, "config.json"));
        return Pretrained.Load(folder, options, w => new DepthAnythingForDepthEstimation(w, config));
    }

    internal DepthAnythingForDepthEstimation(Weights w, DepthAnythingConfig c)
    {
        Config = c;
        Backbone = new Dinov2Backbone(w["backbone"], c.BackboneModel);
        Neck = new DepthAnythingNeck(w["neck"], c);
        Head = new DepthAnythingDepthEstimationHead(w["head"], c);
    }

    /// <summary>Progress steps of one forward pass: backbone layers, fusion layers, head.</summary>
    public int ForwardSteps => Config.BackboneModel.NumHiddenLayers + Neck.Convs.Length + 1;

    /// <summary>Depth [B, h, w] for pixel values [B, 3, H, W]: relative inverse depth, or metres for metric models (before post-processing: <see cref="Processing.DPTPostProcessor"/>).</summary>
    /// <param name="pixelValues">[B, 3, H, W] from the family's image processor; H and W multiples of the patch size.</param>
    /// <param name="progress">Receives one <see cref="ModelProgress"/> per step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        var hidden = Backbone.Forward(pixelValues, context);
        int gridH = pixelValues.Dim(2) / Config.PatchSize, gridW = pixelValues.Dim(3) / Config.PatchSize;
        var fused = Neck.Forward(hidden, gridH, gridW, context);
        var depth = Lifetimes.Replace(fused, Head.Forward(fused, gridH, gridW));
        context.Step("head");
        return depth;
    }
}
