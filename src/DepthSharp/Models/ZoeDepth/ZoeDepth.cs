using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels.Bins;

namespace DepthSharp.Models;

internal sealed class ZoeDepthNeck
{
    private readonly string _path;
    /// <summary>DPT's reassemble stage: the reference's ZoeDepth copy of it is the same module.</summary>
    public DPTReassembleStage ReassembleStage { get; }
    public Conv2d[] Convs { get; }
    public DPTFeatureFusionLayer[] FusionLayers { get; }

    public ZoeDepthNeck(Weights w, ZoeDepthConfig c)
    {
        _path = w.Prefix;
        ReassembleStage = new DPTReassembleStage(w["reassemble_stage"], c.BeitBackbone.HiddenSize, c.NeckHiddenSizes, c.ReassembleFactors,
            c.ReadoutType, c.HiddenAct);
        Convs = c.NeckHiddenSizes.Select((ch, i) => new Conv2d(w["convs"][i], ch, c.FusionHiddenSize, 3, 1, 1, bias: false)).ToArray();
        // DPT's fusion block, with ZoeDepth's batch-norm epsilon.
        var residualUnits = ResidualUnitStyle.FromConfig(c.UseBatchNormInFusionResidual, c.UseBiasInFusionResidual, c.BatchNormEps);
        FusionLayers = c.NeckHiddenSizes.Select((_, i) => new DPTFeatureFusionLayer(w["fusion_stage"]["layers"][i], c.FusionHiddenSize, residualUnits)).ToArray();
    }

    /// <summary>
    /// The fused maps from coarse to fine, and the coarsest projected map before fusion (the metric head's bottleneck).
    /// <paramref name="stages"/> (distinct tensors) are released as they are reassembled. As the reference: every map
    /// reassembled, then each through its convolution (interleaving the two measured 2–3 MB more peak over three passes).
    /// </summary>
    public (List<Tensor> Fused, Tensor Bottleneck) Forward(List<Tensor> stages, int patchHeight, int patchWidth, ForwardContext context)
    {
        var maps = new List<Tensor>(stages.Count);
        for (int i = 0; i < stages.Count; i++)
        {
            maps.Add(ReassembleStage.Forward(i, stages[i], patchHeight, patchWidth));
            stages[i].Release();
        }
        var features = maps.Select((m, i) => Lifetimes.Replace(m, Convs[i].Forward(m))).ToList();
        var bottleneck = features[^1];
        ActivationTrace.Record($"{_path}.1", bottleneck);
        var fused = new List<Tensor>(features.Count);
        Tensor? current = null;
        for (int i = 0; i < FusionLayers.Length; i++)
        {
            var skip = features[features.Count - 1 - i];
            // Every fused map and the bottleneck (the first layer's input) are kept for the heads; the other neck maps are not.
            current = current is null ? FusionLayers[i].Forward(skip) : FusionLayers[i].Forward(current, skip, consumeResidual: true);
            fused.Add(current);
            context.Step("neck");
        }
        return (fused, bottleneck);
    }
}

internal sealed class ZoeDepthRelativeDepthEstimationHead
{
    private readonly string _path;
    private readonly int _headInIndex;
    public Conv2d? Projection { get; }
    public Conv2d Conv1 { get; }
    public Conv2d Conv2 { get; }
    public Conv2d Conv3 { get; }

    public ZoeDepthRelativeDepthEstimationHead(Weights w, ZoeDepthConfig c)
    {
        _path = w.Prefix;
        _headInIndex = c.HeadInIndex;
        int f = c.FusionHiddenSize;
        if (c.AddProjection) Projection = new Conv2d(w["projection"], 256, 256, 3, 1, 1);
        Conv1 = new Conv2d(w["conv1"], f, f / 2, 3, 1, 1);
        Conv2 = new Conv2d(w["conv2"], f / 2, c.NumRelativeFeatures, 3, 1, 1);
        Conv3 = new Conv2d(w["conv3"], c.NumRelativeFeatures, 1, 1);
    }

    /// <summary>Relative depth [B, 2h, 2w] and the features before the last convolution [B, num_relative_features, 2h, 2w].</summary>
    public (Tensor Depth, Tensor Features) Forward(List<Tensor> fused)
    {
        var x = fused[_headInIndex < 0 ? fused.Count + _headInIndex : _headInIndex];
        if (Projection is null) x = Conv1.Forward(x);
        else
        {
            var projected = Ops.ReluInPlace(Projection.Forward(x));
            x = Lifetimes.Replace(projected, Conv1.Forward(projected));
        }
        x = Lifetimes.Replace(x, Ops.Interpolate(x, 2.0, InterpolationMode.Bilinear, alignCorners: true));
        var features = Lifetimes.Replace(x, Ops.ReluInPlace(Conv2.Forward(x)));
        var depth = Ops.ReluInPlace(Conv3.Forward(features));
        depth = depth.Reshape(depth.Dim(0), depth.Dim(2), depth.Dim(3));
        ActivationTrace.Record($"{_path}.0", depth);
        ActivationTrace.Record($"{_path}.1", features);
        return (depth, features);
    }
}

/// <summary>Two 1×1 convolutions with a ReLU between: bin embeddings from a feature map.</summary>
internal sealed class ZoeDepthProjector(Weights w, int inFeatures, int outFeatures, int mlpDim)
{
    public Conv2d Conv1 { get; } = new Conv2d(w["conv1"], inFeatures, mlpDim, 1);
    public Conv2d Conv2 { get; } = new Conv2d(w["conv2"], mlpDim, outFeatures, 1);

    public Tensor Forward(Tensor x) => Conv2.Forward(Ops.ReluInPlace(Conv1.Forward(x)));
}

/// <summary>The first bin centres, per pixel of the bottleneck: bounded in [min, max] ("normed") or free ("softplus").</summary>
internal sealed class ZoeDepthSeedBinRegressor
{
    private readonly bool _normed;
    private readonly int _bins;
    private readonly double _minDepth, _maxDepth;
    public Conv2d Conv1 { get; }
    public Conv2d Conv2 { get; }

    public ZoeDepthSeedBinRegressor(Weights w, ZoeDepthConfig c, int nBins, int mlpDim, double minDepth, double maxDepth)
    {
        _normed = c.BinCentersType == BinCentersType.Normed;
        _bins = nBins;
        _minDepth = minDepth;
        _maxDepth = maxDepth;
        Conv1 = new Conv2d(w["conv1"], c.BottleneckFeatures, mlpDim, 1);
        Conv2 = new Conv2d(w["conv2"], mlpDim, nBins, 1);
    }

    /// <summary>Bin centres [B, nBins, h, w].</summary>
    public Tensor Forward(Tensor x)
    {
        var y = Conv2.Forward(Ops.ReluInPlace(Conv1.Forward(x)));
        if (!_normed) return BinOps.Softplus(y);
        // Positive widths, normalised to span [min, max], summed into edges; centres are the midpoints.
        y = Ops.ReluInPlace(y);
        int batch = y.Dim(0), plane = y.Dim(2) * y.Dim(3);
        int nBins = _bins;
        float min = (float)_minDepth, range = (float)(_maxDepth - _minDepth);
        var centers = Tensor.Empty(y.Shape);
        var widths = new float[nBins];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
            {
                long at = (long)b * nBins * plane + p;
                float sum = 0;
                for (int k = 0; k < nBins; k++) sum += widths[k] = y.Data[at + (long)k * plane] + 1e-3f;
                float edge = min;
                for (int k = 0; k < nBins; k++)
                {
                    float next = edge + range * (widths[k] / sum);
                    centers.Data[at + (long)k * plane] = 0.5f * (edge + next);
                    edge = next;
                }
            }
        return centers;
    }
}

/// <summary>
/// Moves the previous bin centres towards attractor points predicted from the bin embedding. "normed" layers work on
/// centres in [0, 1] and also return them scaled to [min, max], sorted and clipped; "softplus" layers work in metres.
/// </summary>
internal sealed class ZoeDepthAttractorLayer
{
    // The reference never passes attractor_alpha / attractor_gamma to its attractor function, so its defaults apply.
    private const float Alpha = 300f;
    private readonly ZoeDepthConfig _c;
    private readonly int _attractors;
    private readonly double _minDepth, _maxDepth;
    public Conv2d Conv1 { get; }
    public Conv2d Conv2 { get; }

    public ZoeDepthAttractorLayer(Weights w, ZoeDepthConfig c, int nAttractors, double minDepth, double maxDepth)
    {
        _c = c;
        _attractors = nAttractors;
        _minDepth = minDepth;
        _maxDepth = maxDepth;
        Conv1 = new Conv2d(w["conv1"], c.BinEmbeddingDim, c.BinEmbeddingDim, 1);
        // Normed layers predict two values per attractor (only the first is used, as in the released weights).
        Conv2 = new Conv2d(w["conv2"], c.BinEmbeddingDim, nAttractors * (Normed ? 2 : 1), 1);
    }

    private bool Normed => _c.BinCentersType == BinCentersType.Normed;

    /// <returns>The new centres (normalised for "normed"), and the centres in metres.</returns>
    public (Tensor Next, Tensor Centers) Forward(Tensor x, Tensor previousBins, Tensor previousEmbedding)
    {
        int height = x.Dim(2), width = x.Dim(3);
        x = Ops.Add(x, Ops.Interpolate(previousEmbedding, height, width, InterpolationMode.Bilinear, alignCorners: true));
        var a = Conv2.Forward(Ops.ReluInPlace(Conv1.Forward(x)));
        a = Normed ? Ops.ReluInPlace(a) : BinOps.Softplus(a);
        var centers = Ops.Interpolate(previousBins, height, width, InterpolationMode.Bilinear, alignCorners: true);
        // Δc = Σ d / (1 + α·d²) over the attractors, d = attractor − centre (normed attractors are offset by 1e-3).
        var next = BinOps.AttractorShift(centers, a, _attractors, Normed ? 2 : 1, Normed ? 1e-3f : 0f, Alpha, _c.AttractorKind == AttractorKind.Mean);
        centers.Release();
        a.Release();
        return (next, Normed ? ScaleSortClip(next) : next);
    }

    /// <summary>Normalised centres to metres, sorted along the bins of each pixel and clipped to [min, max].</summary>
    private Tensor ScaleSortClip(Tensor normalised) =>
        BinOps.SortChannelsClamp(normalised, (float)(_maxDepth - _minDepth), (float)_minDepth, (float)_minDepth, (float)_maxDepth);
}

/// <summary>
/// A per-pixel MLP on (features, bin embedding) predicting a probability p and a temperature t, turned into a distribution
/// over the bins: softmax_k((log C(K-1, k) + k·log p + (K-1-k)·log(1-p)) / t), with Stirling's log binomial coefficient.
/// </summary>
internal sealed class ZoeDepthConditionalLogBinomialSoftmax
{
    private readonly ZoeDepthConfig _c;
    private readonly int _bins;
    public Conv2d Mlp0 { get; }
    public Conv2d Mlp2 { get; }

    public ZoeDepthConditionalLogBinomialSoftmax(Weights w, ZoeDepthConfig c, int inFeatures, int conditionDim, int bins, int bottleneckFactor)
    {
        _c = c;
        _bins = bins;
        int bottleneck = (inFeatures + conditionDim) / bottleneckFactor;
        Mlp0 = new Conv2d(w["mlp"][0], inFeatures + conditionDim, bottleneck, 1);
        Mlp2 = new Conv2d(w["mlp"][2], bottleneck, 4, 1);
    }

    /// <summary>Bin probabilities [B, K, H, W].</summary>
    public Tensor Forward(Tensor main, Tensor condition)
    {
        var pt = BinOps.Softplus(Mlp2.Forward(Ops.Gelu(Mlp0.Forward(Ops.Concat(1, main, condition)))));
        var logBinom = new float[_bins];
        for (int i = 0; i < _bins; i++) logBinom[i] = LogBinomial(_bins - 1, i);
        return BinOps.LogBinomialSoftmax(pt, logBinom, (float)_c.MinTemp, (float)(_c.MaxTemp - _c.MinTemp));
    }

    /// <summary>log C(n, k) by Stirling, with the reference's 1e-7 offsets, in float32 as it computes it.</summary>
    private static float LogBinomial(int n, int k)
    {
        const float eps = 1e-7f;
        float nn = n + eps, kk = k + eps;
        return nn * MathF.Log(nn) - kk * MathF.Log(kk) - (nn - kk) * MathF.Log(nn - kk + eps);
    }
}

/// <summary>Expected depth Σ_k p_k · c_k over the bins: [B, K, H, W] twice → [B, 1, H, W].</summary>
internal static class BinExpectation
{
    public static Tensor Compute(Tensor probabilities, Tensor centers)
    {
        int batch = probabilities.Dim(0), k = probabilities.Dim(1), plane = probabilities.Dim(2) * probabilities.Dim(3);
        var y = Tensor.Zeros(batch, 1, probabilities.Dim(2), probabilities.Dim(3));
        var term = new float[plane];
        for (int b = 0; b < batch; b++)
        {
            var dst = y.Data.AsSpan(b * plane, plane);
            for (int i = 0; i < k; i++)
            {
                int at = (b * k + i) * plane;
                System.Numerics.Tensors.TensorPrimitives.Multiply(probabilities.Data.AsSpan(at, plane), centers.Data.AsSpan(at, plane), term);
                System.Numerics.Tensors.TensorPrimitives.Add(dst, term, dst);
            }
        }
        return y;
    }
}

/// <summary>One head's path from the seed bins through the attractors; the two head kinds share it.</summary>
internal static class AttractorChain
{
    /// <returns>The last centres in metres and the last bin embedding.</returns>
    public static (Tensor Centers, Tensor Embedding) Run(ZoeDepthConfig c, ZoeDepthSeedBinRegressor seed, ZoeDepthProjector seedProjector,
        ZoeDepthProjector[] projectors, ZoeDepthAttractorLayer[] attractors, Tensor bottleneck, List<Tensor> featureBlocks,
        double minDepth, double maxDepth)
    {
        var seedCenters = seed.Forward(bottleneck);
        var previous = seedCenters;
        if (c.BinCentersType == BinCentersType.Normed)
        {
            // The attractors of the bounded kind work on centres normalised to [0, 1].
            previous = Tensor.Empty(seedCenters.Shape);
            float min = (float)minDepth, range = (float)(maxDepth - minDepth);
            for (int i = 0; i < previous.Data.Length; i++) previous.Data[i] = (seedCenters.Data[i] - min) / range;
        }
        var previousEmbedding = seedProjector.Forward(bottleneck);
        Tensor? centers = null, embedding = null;
        int steps = Math.Min(Math.Min(projectors.Length, attractors.Length), featureBlocks.Count);
        for (int i = 0; i < steps; i++)
        {
            embedding = projectors[i].Forward(featureBlocks[i]);
            (previous, centers) = attractors[i].Forward(embedding, previous, previousEmbedding);
            previousEmbedding = embedding;
        }
        return (centers!, embedding!);
    }
}

/// <summary>The metric head with one bin configuration; it also takes the relative depth as an extra input channel.</summary>
internal sealed class ZoeDepthMetricDepthEstimationHead
{
    private readonly ZoeDepthConfig _c;
    private readonly ZoeDepthBinConfiguration _bins;
    public Conv2d Conv2 { get; }
    public ZoeDepthSeedBinRegressor SeedBinRegressor { get; }
    public ZoeDepthProjector SeedProjector { get; }
    public ZoeDepthProjector[] Projectors { get; }
    public ZoeDepthAttractorLayer[] Attractors { get; }
    public ZoeDepthConditionalLogBinomialSoftmax ConditionalLogBinomial { get; }

    public ZoeDepthMetricDepthEstimationHead(Weights w, ZoeDepthConfig c)
    {
        _c = c;
        _bins = c.BinConfigurations[0];
        int emb = c.BinEmbeddingDim;
        Conv2 = new Conv2d(w["conv2"], c.BottleneckFeatures, c.BottleneckFeatures, 1);
        // Hidden widths 256 and 128 are the reference's fixed defaults for the single head.
        SeedBinRegressor = new ZoeDepthSeedBinRegressor(w["seed_bin_regressor"], c, _bins.Bins, 256, _bins.Min, _bins.Max);
        SeedProjector = new ZoeDepthProjector(w["seed_projector"], c.BottleneckFeatures, emb, 128);
        Projectors = Enumerable.Range(0, ZoeDepthConfig.Projectors)
            .Select(i => new ZoeDepthProjector(w["projectors"][i], c.FusionHiddenSize, emb, 128)).ToArray();
        Attractors = Enumerable.Range(0, ZoeDepthConfig.Projectors)
            .Select(i => new ZoeDepthAttractorLayer(w["attractors"][i], c, c.NumAttractors[i], _bins.Min, _bins.Max)).ToArray();
        ConditionalLogBinomial = new ZoeDepthConditionalLogBinomialSoftmax(w["conditional_log_binomial"], c,
            c.NumRelativeFeatures + 1, emb, _bins.Bins, bottleneckFactor: 2);
    }

    public Tensor Forward(Tensor outconvActivation, Tensor bottleneck, List<Tensor> featureBlocks, Tensor relativeDepth)
    {
        var x = Conv2.Forward(bottleneck);
        var (centers, embedding) = AttractorChain.Run(_c, SeedBinRegressor, SeedProjector, Projectors, Attractors, x, featureBlocks, _bins.Min, _bins.Max);
        int height = outconvActivation.Dim(2), width = outconvActivation.Dim(3);
        var relative = Ops.Interpolate(relativeDepth.Reshape(relativeDepth.Dim(0), 1, relativeDepth.Dim(1), relativeDepth.Dim(2)),
            height, width, InterpolationMode.Bilinear, alignCorners: true);
        var last = Ops.Concat(1, outconvActivation, relative);
        embedding = Ops.Interpolate(embedding, height, width, InterpolationMode.Bilinear, alignCorners: true);
        var probabilities = ConditionalLogBinomial.Forward(last, embedding);
        centers = Ops.Interpolate(centers, height, width, InterpolationMode.Bilinear, alignCorners: true);
        return BinExpectation.Compute(probabilities, centers);
    }
}

/// <summary>nn.MultiheadAttention's arithmetic (batch first) with separate query, key and value projections.</summary>
internal sealed class ZoeDepthMultiheadAttention
{
    private readonly int _heads;
    private readonly float _scale;
    public Linear Query { get; }
    public Linear Key { get; }
    public Linear Value { get; }
    public Linear OutProj { get; }

    public ZoeDepthMultiheadAttention(Weights w, int hidden, int heads)
    {
        _heads = heads;
        _scale = (float)(1.0 / Math.Sqrt(hidden / heads));
        Query = new Linear(w["query"], hidden, hidden);
        Key = new Linear(w["key"], hidden, hidden);
        Value = new Linear(w["value"], hidden, hidden);
        OutProj = new Linear(w["out_proj"], hidden, hidden);
    }

    public Tensor Forward(Tensor x) =>
        OutProj.Forward(Ops.Attention(Query.Forward(x), Key.Forward(x), Value.Forward(x), _heads, _scale));
}

/// <summary>A post-norm transformer layer (attention, add, norm; ReLU MLP, add, norm).</summary>
internal sealed class ZoeDepthTransformerEncoderLayer
{
    // nn.LayerNorm's default.
    private const double NormEps = 1e-5;
    public ZoeDepthMultiheadAttention SelfAttn { get; }
    public Linear Linear1 { get; }
    public Linear Linear2 { get; }
    public LayerNorm Norm1 { get; }
    public LayerNorm Norm2 { get; }

    public ZoeDepthTransformerEncoderLayer(Weights w, ZoeDepthConfig c)
    {
        int hidden = c.PatchTransformerHiddenSize!.Value, inter = c.PatchTransformerIntermediateSize!.Value;
        SelfAttn = new ZoeDepthMultiheadAttention(w["self_attn"], hidden, c.PatchTransformerNumAttentionHeads!.Value);
        Linear1 = new Linear(w["linear1"], hidden, inter);
        Linear2 = new Linear(w["linear2"], inter, hidden);
        Norm1 = new LayerNorm(w["norm1"], hidden, NormEps);
        Norm2 = new LayerNorm(w["norm2"], hidden, NormEps);
    }

    public Tensor Forward(Tensor x)
    {
        var attended = SelfAttn.Forward(x);
        Ops.AddInPlace(attended, x);
        x = Norm1.Forward(attended);
        var mlp = Linear2.Forward(Ops.ReluInPlace(Linear1.Forward(x)));
        Ops.AddInPlace(mlp, x);
        return Norm2.Forward(mlp);
    }
}

/// <summary>The router's encoder: 1×1 embedding of the bottleneck, a zero class token in front, sinusoidal positions, transformer layers.</summary>
internal sealed class ZoeDepthPatchTransformerEncoder
{
    public ZoeDepthTransformerEncoderLayer[] TransformerEncoder { get; }
    public Conv2d EmbeddingConvPxP { get; }

    public ZoeDepthPatchTransformerEncoder(Weights w, ZoeDepthConfig c)
    {
        TransformerEncoder = Enumerable.Range(0, c.NumPatchTransformerLayers!.Value)
            .Select(i => new ZoeDepthTransformerEncoderLayer(w["transformer_encoder"][i], c)).ToArray();
        EmbeddingConvPxP = new Conv2d(w["embedding_convPxP"], c.BottleneckFeatures, c.PatchTransformerHiddenSize!.Value, 1);
    }

    /// <summary>[B, C, h, w] → [B, 1 + h·w, hidden].</summary>
    public Tensor Forward(Tensor x)
    {
        var e = EmbeddingConvPxP.Forward(x);
        int batch = e.Dim(0), dim = e.Dim(1), n = e.Dim(2) * e.Dim(3), seq = n + 1;
        var tokens = Tensor.Empty(batch, seq, dim);
        var positions = PositionalEncoding(seq, dim);
        for (int b = 0; b < batch; b++)
            for (int s = 0; s < seq; s++)
                for (int d = 0; d < dim; d++)
                {
                    float v = s == 0 ? 0f : e.Data[((long)b * dim + d) * n + s - 1];
                    tokens.Data[((long)b * seq + s) * dim + d] = v + positions[s * dim + d];
                }
        // The reference runs exactly four layers whatever the layer count.
        for (int i = 0; i < ZoeDepthConfig.RouterLayers; i++) tokens = TransformerEncoder[i].Forward(tokens);
        return tokens;
    }

    /// <summary>[seq, dim]: sin(pos·f_i) in the first half of the columns, cos(pos·f_i) in the second, f_i = 10000^(-2i/dim); float32 as the reference.</summary>
    private static float[] PositionalEncoding(int seq, int dim)
    {
        int half = (dim + 1) / 2;
        var pe = new float[seq * dim];
        float logScale = -MathF.Log(10000f) / dim;
        for (int i = 0; i < half; i++)
        {
            float frequency = MathF.Exp(2 * i * logScale);
            for (int s = 0; s < seq; s++)
            {
                float angle = s * frequency;
                pe[s * dim + i] = MathF.Sin(angle);
                if (half + i < dim) pe[s * dim + half + i] = MathF.Cos(angle);
            }
        }
        return pe;
    }
}

internal sealed class ZoeDepthMlpClassifier(Weights w, int inFeatures, int outFeatures)
{
    public Linear Linear1 { get; } = new(w["linear1"], inFeatures, inFeatures);
    public Linear Linear2 { get; } = new(w["linear2"], inFeatures, outFeatures);

    public Tensor Forward(Tensor x) => Linear2.Forward(Ops.ReluInPlace(Linear1.Forward(x)));
}

/// <summary>One metric head per bin configuration and a router (patch transformer + classifier) that picks one per batch.</summary>
internal sealed class ZoeDepthMultipleMetricDepthEstimationHeads
{
    private readonly ZoeDepthConfig _c;
    public Conv2d Conv2 { get; }
    public ZoeDepthPatchTransformerEncoder PatchTransformer { get; }
    public ZoeDepthMlpClassifier MlpClassifier { get; }
    public Dictionary<string, ZoeDepthSeedBinRegressor> SeedBinRegressors { get; } = [];
    public ZoeDepthProjector SeedProjector { get; }
    public ZoeDepthProjector[] Projectors { get; }
    public Dictionary<string, ZoeDepthAttractorLayer[]> Attractors { get; } = [];
    public Dictionary<string, ZoeDepthConditionalLogBinomialSoftmax> ConditionalLogBinomial { get; } = [];

    /// <summary>The reference builds these attractor layers with its default of 16 attractors, whatever num_attractors says.</summary>
    private const int AttractorsPerLayer = 16;

    public ZoeDepthMultipleMetricDepthEstimationHeads(Weights w, ZoeDepthConfig c)
    {
        _c = c;
        int emb = c.BinEmbeddingDim, mlp = emb / 2;
        Conv2 = new Conv2d(w["conv2"], c.BottleneckFeatures, c.BottleneckFeatures, 1);
        PatchTransformer = new ZoeDepthPatchTransformerEncoder(w["patch_transformer"], c);
        MlpClassifier = new ZoeDepthMlpClassifier(w["mlp_classifier"], ZoeDepthConfig.RouterFeatures, 2);
        // Parameters in the reference's order: all regressors, the shared projectors, then attractors and softmax heads.
        foreach (var b in c.BinConfigurations)
            SeedBinRegressors[b.Name!] = new ZoeDepthSeedBinRegressor(w["seed_bin_regressors"][b.Name!], c, b.Bins, mlp, b.Min, b.Max);
        SeedProjector = new ZoeDepthProjector(w["seed_projector"], c.BottleneckFeatures, emb, mlp);
        Projectors = Enumerable.Range(0, ZoeDepthConfig.Projectors)
            .Select(i => new ZoeDepthProjector(w["projectors"][i], c.FusionHiddenSize, emb, mlp)).ToArray();
        foreach (var b in c.BinConfigurations)
            Attractors[b.Name!] = c.NumAttractors
                .Select((_, i) => new ZoeDepthAttractorLayer(w["attractors"][b.Name!][i], c, AttractorsPerLayer, b.Min, b.Max)).ToArray();
        foreach (var b in c.BinConfigurations)
            ConditionalLogBinomial[b.Name!] = new ZoeDepthConditionalLogBinomialSoftmax(w["conditional_log_binomial"][b.Name!], c,
                c.NumRelativeFeatures, emb, b.Bins, bottleneckFactor: 4);
    }

    /// <returns>Metric depth [B, 1, H, W], the router's logits [B, 2], and the name of the head it chose for the batch.</returns>
    public (Tensor Depth, Tensor DomainLogits, string Domain) Forward(Tensor outconvActivation, Tensor bottleneck, List<Tensor> featureBlocks)
    {
        var x = Conv2.Forward(bottleneck);
        var tokens = PatchTransformer.Forward(x);
        int batch = tokens.Dim(0), dim = tokens.Dim(2);
        var logits = MlpClassifier.Forward(Ops.Narrow(tokens, 1, 0, 1).Reshape(batch, dim));
        var conf = _c.BinConfigurations[ChooseHead(logits)];

        var (centers, embedding) = AttractorChain.Run(_c, SeedBinRegressors[conf.Name!], SeedProjector, Projectors, Attractors[conf.Name!],
            x, featureBlocks, conf.Min, conf.Max);
        int height = outconvActivation.Dim(2), width = outconvActivation.Dim(3);
        centers = Ops.Interpolate(centers, height, width, InterpolationMode.Bilinear, alignCorners: true);
        embedding = Ops.Interpolate(embedding, height, width, InterpolationMode.Bilinear, alignCorners: true);
        var probabilities = ConditionalLogBinomial[conf.Name!].Forward(outconvActivation, embedding);
        return (BinExpectation.Compute(probabilities, centers), logits, conf.Name!);
    }

    /// <summary>One vote for the whole batch: softmax of the logits summed over the batch, first maximum wins.</summary>
    private static int ChooseHead(Tensor logits)
    {
        int batch = logits.Dim(0), classes = logits.Dim(1);
        var summed = new Tensor(new float[classes], 1, classes);
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < classes; k++) summed.Data[k] += logits.Data[b * classes + k];
        var vote = Ops.Softmax(summed).Data;
        int best = 0;
        for (int k = 1; k < classes; k++) if (vote[k] > vote[best]) best = k;
        return best;
    }
}

/// <summary>ZoeDepthForDepthEstimation's outputs.</summary>
/// <param name="PredictedDepth">Metric depth in metres [B, h, w], before post-processing (<see cref="Processing.ZoeDepthPostProcessor"/>).</param>
/// <param name="DomainLogits">With several heads, the router's logits [B, heads]; null with one head.</param>
/// <param name="Domain">The chosen head's name (e.g. "nyu" or "kitti"); null for one unnamed head.</param>
public sealed record ZoeDepthOutput(Tensor PredictedDepth, Tensor? DomainLogits, string? Domain);

/// <summary>
/// transformers' ZoeDepthForDepthEstimation: a BEiT backbone, the DPT-style neck, the relative depth head and the metric
/// bins head (or several, with a router that picks one per batch).
/// </summary>
public sealed class ZoeDepthForDepthEstimation
{
    private readonly string _metricPath;
    /// <summary>The validated config.json the model was built from.</summary>
    public ZoeDepthConfig Config { get; }
    internal BeitBackbone Backbone { get; }
    internal ZoeDepthNeck Neck { get; }
    internal ZoeDepthRelativeDepthEstimationHead RelativeHead { get; }
    internal ZoeDepthMetricDepthEstimationHead? MetricHead { get; }
    internal ZoeDepthMultipleMetricDepthEstimationHeads? MetricHeads { get; }

    /// <summary>
    /// The model of a folder (config.json and model.safetensors or a sharded index), loaded strictly: every missing,
    /// unused or misshapen tensor is reported by name (every tensor of a ZoeDepth checkpoint is a parameter the model uses:
    /// its index buffers are not saved). <paramref name="options"/> asks for 8-bit or random weights.
    /// </summary>
    /// <param name="folder">The model folder: config.json and model.safetensors (or model.safetensors.index.json and its shards).</param>
    /// <param name="options">8-bit or random weights; null: the checkpoint's as stored.</param>
    /// <exception cref="ConfigException">config.json is missing a value or has an impossible one.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the config.</exception>
    public static ZoeDepthForDepthEstimation FromPretrained(string folder, PretrainedOptions? options = null)
    {
        var config = ZoeDepthConfig.Load(Path.Combine(folder, "config.json"));
        return Pretrained.Load(folder, options, w => new ZoeDepthForDepthEstimation(w, config));
    }

    internal ZoeDepthForDepthEstimation(Weights w, ZoeDepthConfig c)
    {
        Config = c;
        Backbone = new BeitBackbone(w["backbone"], c.BeitBackbone);
        Neck = new ZoeDepthNeck(w["neck"], c);
        RelativeHead = new ZoeDepthRelativeDepthEstimationHead(w["relative_head"], c);
        _metricPath = w["metric_head"].Prefix;
        if (c.HasMultipleHeads) MetricHeads = new ZoeDepthMultipleMetricDepthEstimationHeads(w["metric_head"], c);
        else MetricHead = new ZoeDepthMetricDepthEstimationHead(w["metric_head"], c);
    }

    /// <summary>Progress steps of one forward pass: backbone layers, fusion layers, heads.</summary>
    public int ForwardSteps => Backbone.ForwardSteps + Neck.FusionLayers.Length + 2;

    /// <summary>Metric depth for pixel values [B, 3, H, W], with the router's choice when the model has several heads.</summary>
    /// <param name="pixelValues">[B, 3, H, W] from the family's image processor; H and W multiples of the patch size.</param>
    /// <param name="progress">Receives one <see cref="ModelProgress"/> per step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public ZoeDepthOutput Forward(Tensor pixelValues, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        int patch = Config.BeitBackbone.PatchSize;
        var stages = Backbone.Forward(pixelValues, context);
        var (fused, bottleneck) = Neck.Forward(stages, pixelValues.Dim(2) / patch, pixelValues.Dim(3) / patch, context);
        var (relativeDepth, relativeFeatures) = RelativeHead.Forward(fused);
        context.Step("relative head");

        Tensor depth;
        Tensor? logits = null;
        string? domain;
        if (MetricHeads is not null)
        {
            (depth, logits, domain) = MetricHeads.Forward(relativeFeatures, bottleneck, fused);
            ActivationTrace.Record($"{_metricPath}.1", logits);
        }
        else
        {
            depth = MetricHead!.Forward(relativeFeatures, bottleneck, fused, relativeDepth);
            domain = Config.BinConfigurations[0].Name;
        }
        ActivationTrace.Record($"{_metricPath}.0", depth);
        foreach (var map in fused) map.Release();
        bottleneck.Release();
        relativeFeatures.Release();
        relativeDepth.Release();
        context.Step("metric head");
        return new ZoeDepthOutput(depth.Reshape(depth.Dim(0), depth.Dim(2), depth.Dim(3)), logits, domain);
    }
}
