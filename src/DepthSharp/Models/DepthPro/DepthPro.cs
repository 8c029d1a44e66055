using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Patch bookkeeping shared by DepthPro's encoders (split_to_patches, reshape_features, merge_patches, reconstruct_feature_maps).</summary>
internal static class DepthProPatches
{
    /// <summary>[B,C,H,W] → overlapping patches [L·B, C, p, p], ordered by patch position first, then batch.</summary>
    public static Tensor Split(Tensor pixelValues, int patchSize, double overlapRatio)
    {
        int b = pixelValues.Dim(0), c = pixelValues.Dim(1), h = pixelValues.Dim(2), w = pixelValues.Dim(3);
        if (h == patchSize && w == patchSize) return pixelValues;
        int stride = (int)(patchSize * (1 - overlapRatio));
        var unfolded = Ops.Unfold(pixelValues, patchSize, stride); // [B, C·p·p, L]
        return Ops.Permute(unfolded, 2, 0, 1).Reshape(-1, c, patchSize, patchSize);
    }

    /// <summary>Drops the class token and turns [n, seq, hidden] into a square map [n, hidden, s, s].</summary>
    public static Tensor ReshapeFeatures(Tensor hidden)
    {
        int n = hidden.Dim(0), seq = hidden.Dim(1), dim = hidden.Dim(2);
        int size = (int)Math.Sqrt(seq);
        var grid = Ops.Narrow(hidden, 1, seq - size * size, size * size).Reshape(n, size, size, dim);
        return Ops.Permute(grid, 0, 3, 1, 2);
    }

    /// <summary>Tiles the patches of each batch element back into one map, cutting <paramref name="padding"/> from every inner edge.</summary>
    public static Tensor Merge(Tensor patches, int batch, int padding)
    {
        int n = patches.Dim(0), hid = patches.Dim(1), size = patches.Dim(2);
        int perBatch = n / batch;
        int side = (int)Math.Sqrt(perBatch);
        if (n == batch) return patches;
        if (perBatch < 4) padding = 0; // too few patches to pad: extra ones are dropped
        padding = Math.Min(size / 4, padding);
        var merged = Tensor.Empty(batch, hid, side * size - 2 * padding * (side - 1), side * size - 2 * padding * (side - 1));
        int outSize = merged.Dim(2);
        int y0 = 0;
        for (int py = 0; py < side; py++)
        {
            int top = py == 0 ? 0 : padding, bottom = py == side - 1 ? 0 : padding;
            int rows = size - top - bottom;
            int x0 = 0;
            for (int px = 0; px < side; px++)
            {
                int left = px == 0 ? 0 : padding, right = px == side - 1 ? 0 : padding;
                int cols = size - left - right;
                int index = py * side + px;
                for (int b = 0; b < batch; b++)
                    for (int ch = 0; ch < hid; ch++)
                    {
                        int srcPlane = ((index * batch + b) * hid + ch) * size * size;
                        int dstPlane = (b * hid + ch) * outSize * outSize;
                        for (int r = 0; r < rows; r++)
                            Array.Copy(patches.Data, srcPlane + (top + r) * size + left, merged.Data, dstPlane + (y0 + r) * outSize + x0, cols);
                    }
                x0 += cols;
            }
            y0 += rows;
        }
        return merged;
    }

    public static Tensor ReconstructFeatureMaps(Tensor hidden, int batch, int padding, int outH, int outW)
    {
        var features = Merge(ReshapeFeatures(hidden), batch, padding);
        return Ops.Interpolate(features, outH, outW, InterpolationMode.Bilinear, alignCorners: false);
    }

    /// <summary>Size of the lowest-resolution feature maps for an input of height × width (base_height, base_width).</summary>
    public static (int H, int W) BaseSize(int height, int width, int outSize)
    {
        int exponent = (int)Math.Log2((double)width / outSize);
        return (height / (1 << exponent), width / (1 << exponent));
    }
}

internal sealed class DepthProPatchEncoder
{
    private readonly DepthProConfig _c;
    private readonly string _path;
    private readonly int _outSize;
    public Dinov2Model Model { get; }

    public DepthProPatchEncoder(Weights w, DepthProConfig c)
    {
        _c = c;
        _path = w.Prefix;
        _outSize = c.ImageModel.ImageSize / c.ImageModel.PatchSize;
        Model = new Dinov2Model(w["model"], c.PatchModel);
    }

    /// <summary>Why an input of <paramref name="height"/> × <paramref name="width"/> cannot be cut into patches at every scale, or null when it can.</summary>
    public static string? InputProblem(DepthProConfig c, int height, int width) =>
        c.ScaledImagesRatios.Min() * Math.Min(height, width) < c.PatchSize
            ? $"an input of {height}x{width} is too small to be scaled with scaled_images_ratios=[{string.Join(", ", c.ScaledImagesRatios)}] when patch_size={c.PatchSize}"
            : null;

    public List<Tensor> Forward(Tensor pixelValues, ForwardContext context)
    {
        int batch = pixelValues.Dim(0), height = pixelValues.Dim(2), width = pixelValues.Dim(3);
        var ratios = _c.ScaledImagesRatios;
        int n = ratios.Count;
        if (InputProblem(_c, height, width) is string problem) throw new ArgumentException(problem);

        // Scaled copies of the image, each cut into overlapping patches; the encoder sees the highest resolution first.
        var patchSets = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var scaled = Ops.Interpolate(pixelValues, ratios[i], InterpolationMode.Bilinear, alignCorners: false);
            patchSets[i] = DepthProPatches.Split(scaled, _c.PatchSize, _c.ScaledImagesOverlapRatios[i]);
        }
        var counts = patchSets.Select(p => p.Dim(0)).ToArray();
        var patches = Ops.Concat(0, patchSets.Reverse().ToArray());
        patchSets = [];

        var keep = _c.IntermediateHookIds.Select(h => h + 1).ToArray();
        var encodings = Model.Forward(patches, keep, context, "patch encoder");
        var lastHidden = Ops.Split(encodings.LastHiddenState, 0, counts.Reverse().ToArray()).Reverse().ToArray();

        var (baseH, baseW) = DepthProPatches.BaseSize(height, width, _outSize);
        var features = new List<Tensor>();
        for (int i = 0; i < n; i++)
        {
            int padding = (int)(_c.MergePaddingValue * (1 / ratios[i]));
            features.Add(DepthProPatches.ReconstructFeatureMaps(lastHidden[i], batch, padding, baseH << i, baseW << i));
        }
        for (int i = 0; i < _c.IntermediateHookIds.Count; i++)
        {
            var hidden = encodings.HiddenStates[_c.IntermediateHookIds[i] + 1];
            int padding = (int)(_c.MergePaddingValue * (1 / ratios[^1]));
            features.Add(DepthProPatches.ReconstructFeatureMaps(hidden, batch, padding, baseH << (n - 1), baseW << (n - 1)));
        }
        for (int i = 0; i < features.Count; i++) ActivationTrace.Record($"{_path}.{i}", features[i]);
        return features;
    }
}

internal sealed class DepthProImageEncoder
{
    private readonly DepthProConfig _c;
    private readonly string _path;
    private readonly int _outSize;
    public Dinov2Model Model { get; }

    public DepthProImageEncoder(Weights w, DepthProConfig c)
    {
        _c = c;
        _path = w.Prefix;
        _outSize = c.ImageModel.ImageSize / c.ImageModel.PatchSize;
        Model = new Dinov2Model(w["model"], c.ImageModel);
    }

    /// <param name="pixelValues">[B, 3, H, W] normalised pixels.</param>
    /// <param name="context">Progress and cancellation of the whole forward pass.</param>
    /// <param name="hiddenStates">When given, receives the image encoder's hidden states (0 = embeddings, i = after layer i-1).</param>
    public Tensor Forward(Tensor pixelValues, ForwardContext context, Dictionary<int, Tensor>? hiddenStates = null)
    {
        int batch = pixelValues.Dim(0), height = pixelValues.Dim(2), width = pixelValues.Dim(3);
        int size = _c.ImageModel.ImageSize;
        var resized = Ops.Interpolate(pixelValues, size, size, InterpolationMode.Bilinear, alignCorners: false);
        var keep = hiddenStates is null ? null : Enumerable.Range(0, _c.ImageModel.NumHiddenLayers + 1).ToArray();
        var encodings = Model.Forward(resized, keep, context, "image encoder");
        if (hiddenStates is not null)
            foreach (var (index, state) in encodings.HiddenStates) hiddenStates[index] = state;
        var (baseH, baseW) = DepthProPatches.BaseSize(height, width, _outSize);
        var features = DepthProPatches.ReconstructFeatureMaps(encodings.LastHiddenState, batch, 0, baseH, baseW);
        ActivationTrace.Record($"{_path}.0", encodings.LastHiddenState);
        ActivationTrace.Record($"{_path}.1", features);
        return features;
    }
}

internal sealed class DepthProEncoder(Weights w, DepthProConfig c)
{
    public DepthProPatchEncoder PatchEncoder { get; } = new(w["patch_encoder"], c);
    public DepthProImageEncoder ImageEncoder { get; } = new(w["image_encoder"], c);

    /// <summary>[image features, scaled-image features (low to high resolution)..., intermediate features...].</summary>
    public List<Tensor> Forward(Tensor pixelValues, ForwardContext context, Dictionary<int, Tensor>? imageHiddenStates = null)
    {
        var patchFeatures = PatchEncoder.Forward(pixelValues, context);
        var imageFeatures = ImageEncoder.Forward(pixelValues, context, imageHiddenStates);
        return [imageFeatures, .. patchFeatures];
    }
}

/// <summary>An optional 1×1 projection followed by 2×2 stride-2 transposed convolutions.</summary>
internal sealed class DepthProFeatureUpsampleBlock
{
    private readonly List<Func<Tensor, Tensor>> _layers = [];

    public DepthProFeatureUpsampleBlock(Weights w, int inputDims, int intermediateDims, int outputDims, int upsampleLayers, bool useProj = true, bool bias = false)
    {
        int index = 0;
        if (useProj) _layers.Add(new Conv2d(w["layers"][index++], inputDims, intermediateDims, 1, bias: bias).Forward);
        for (int i = 0; i < upsampleLayers; i++)
            _layers.Add(new ConvTranspose2d(w["layers"][index++], i == 0 ? intermediateDims : outputDims, outputDims, 2, 2, bias: bias).Forward);
    }

    public Tensor Forward(Tensor x)
    {
        var input = x;
        foreach (var layer in _layers)
        {
            var next = layer(x);
            if (!ReferenceEquals(x, input)) x.Release();
            x = next;
        }
        return x;
    }
}

internal sealed class DepthProFeatureUpsample
{
    private readonly DepthProConfig _c;
    public DepthProFeatureUpsampleBlock ImageBlock { get; }
    public DepthProFeatureUpsampleBlock[] ScaledImages { get; }
    public DepthProFeatureUpsampleBlock[] Intermediate { get; }

    public DepthProFeatureUpsample(Weights w, DepthProConfig c)
    {
        _c = c;
        ImageBlock = new DepthProFeatureUpsampleBlock(w["image_block"], c.ImageModel.HiddenSize, c.ImageModel.HiddenSize,
            c.ScaledImagesFeatureDims[0], 1, useProj: false, bias: true);
        ScaledImages = c.ScaledImagesFeatureDims.Select((dims, i) =>
            new DepthProFeatureUpsampleBlock(w["scaled_images"][i], c.PatchModel.HiddenSize, dims, dims, 1)).ToArray();
        Intermediate = c.IntermediateFeatureDims.Select((dims, i) =>
            new DepthProFeatureUpsampleBlock(w["intermediate"][i], c.PatchModel.HiddenSize, i == 0 ? c.FusionHiddenSize : dims, dims, 2 + i)).ToArray();
    }

    public List<Tensor> Forward(List<Tensor> features)
    {
        int n = _c.ScaledImagesRatios.Count;
        var outputs = new List<Tensor> { ImageBlock.Forward(features[0]) };
        for (int i = 0; i < n; i++) outputs.Add(ScaledImages[i].Forward(features[i + 1]));
        for (int i = 0; i < Intermediate.Length; i++) outputs.Add(Intermediate[i].Forward(features[n + 1 + i]));
        return outputs;
    }
}

internal sealed class DepthProFeatureProjection
{
    private readonly Conv2d?[] _projections;

    public DepthProFeatureProjection(Weights w, DepthProConfig c)
    {
        var dims = c.ScaledImagesFeatureDims.Concat(c.IntermediateFeatureDims).ToArray();
        _projections = new Conv2d?[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            // The last projection is the identity when its channels already match.
            if (i == dims.Length - 1 && dims[i] == c.FusionHiddenSize) continue;
            _projections[i] = new Conv2d(w["projections"][i], dims[i], c.FusionHiddenSize, 3, 1, 1, bias: false);
        }
    }

    /// <summary>Projects each map; the maps given are released once projected.</summary>
    public List<Tensor> Forward(List<Tensor> features) =>
        features.Select((f, i) => _projections[i] is { } p ? Lifetimes.Replace(f, p.Forward(f)) : f).ToList();
}

internal sealed class DepthProNeck
{
    private readonly string _path;
    public DepthProFeatureUpsample FeatureUpsample { get; }
    public Conv2d FuseImageWithLowRes { get; }
    public DepthProFeatureProjection FeatureProjection { get; }

    public DepthProNeck(Weights w, DepthProConfig c)
    {
        _path = w.Prefix;
        FeatureUpsample = new DepthProFeatureUpsample(w["feature_upsample"], c);
        FuseImageWithLowRes = new Conv2d(w["fuse_image_with_low_res"], c.ScaledImagesFeatureDims[0] * 2, c.ScaledImagesFeatureDims[0], 1);
        FeatureProjection = new DepthProFeatureProjection(w["feature_projection"], c);
    }

    public List<Tensor> Forward(List<Tensor> features)
    {
        features = FeatureUpsample.Forward(features);
        var stacked = Ops.Concat(1, features[1], features[0]);
        var global = FuseImageWithLowRes.Forward(stacked);
        stacked.Release();
        var projected = FeatureProjection.Forward([global, .. features.Skip(2)]);
        for (int i = 0; i < projected.Count; i++) ActivationTrace.Record($"{_path}.{i}", projected[i]);
        return projected;
    }
}

internal sealed class DepthProFeatureFusionLayer(Weights w, DepthProConfig c, bool useDeconv = true)
{
    public PreActResidualLayer ResidualLayer1 { get; } = ResidualLayer(w["residual_layer1"], c);
    public PreActResidualLayer ResidualLayer2 { get; } = ResidualLayer(w["residual_layer2"], c);

    private static PreActResidualLayer ResidualLayer(Weights w, DepthProConfig c) =>
        new(w, c.FusionHiddenSize, ResidualUnitStyle.FromConfig(c.UseBatchNormInFusionResidual, c.UseBiasInFusionResidual));
    public ConvTranspose2d? Deconv { get; } = useDeconv ? new(w["deconv"], c.FusionHiddenSize, c.FusionHiddenSize, 2, 2, bias: false) : null;
    public Conv2d Projection { get; } = new(w["projection"], c.FusionHiddenSize, c.FusionHiddenSize, 1);

    /// <summary>
    /// Bytes one band of a large map may take. At 1536² the decoder's 768² maps are 604 MB each; worked on in bands (and
    /// with the stage adding the last intermediate layer's output into the final layer band by band), one of them is
    /// alive at a time beside the 384² level's maps, instead of three.
    /// </summary>
    internal long BandBytes { get; set; } = 96L << 20;

    /// <param name="hiddenState">[B, fusion, h, w] this level's features.</param>
    /// <param name="residual">The previous fusion layer's output, or null for the first layer.</param>
    /// <param name="consumeInputs">Both inputs are the caller's to lose: each is released as soon as it is read.</param>
    public Tensor Forward(Tensor hiddenState, Tensor? residual = null, bool consumeInputs = false) =>
        Output(ResidualUnits(hiddenState, residual, consumeInputs));

    /// <summary>The residual units' part, unit2(hiddenState + unit1(residual)) or unit2(hiddenState); the result is ours.</summary>
    internal Tensor ResidualUnits(Tensor hiddenState, Tensor? residual, bool consumeInputs)
    {
        if (residual is null) return ResidualLayer2.Forward(hiddenState);
        var sum = ResidualBranch(residual, consumeInputs);
        Ops.AddInPlace(sum, hiddenState);
        if (consumeInputs) hiddenState.Release();
        return RefineSum(sum);
    }

    /// <summary>unit1(residual), written over the residual when that is the caller's to lose (in bands if it is large).</summary>
    internal Tensor ResidualBranch(Tensor residual, bool consume) =>
        consume && ResidualBandRows(residual) is { } rows ? ResidualLayer1.ForwardInBands(residual, rows) : ResidualLayer1.Forward(residual, consume);

    /// <summary>unit2 of a sum that is ours, written over it (in bands if it is large).</summary>
    internal Tensor RefineSum(Tensor sum) =>
        ResidualBandRows(sum) is { } rows ? ResidualLayer2.ForwardInBands(sum, rows) : ResidualLayer2.Forward(sum, consumeInput: true);

    /// <summary>The deconvolution, if any, and the projection of a refined map that is ours.</summary>
    internal Tensor Output(Tensor refined)
    {
        if (Deconv is not null) refined = Lifetimes.Replace(refined, Deconv.Forward(refined));
        return BandRows(refined, 0) is { } rows ? Projection.ForwardInPlace(refined, rows) : Lifetimes.Replace(refined, Projection.Forward(refined));
    }

    /// <summary>
    /// target += Output(refined), computed in bands so that the output is never whole (the deconvolution's output rows
    /// depend on their input row alone, the projection's on their own); the refined map is released.
    /// </summary>
    internal void AddOutput(Tensor refined, Tensor target)
    {
        int scale = Deconv is null ? 1 : 2, h = refined.Dim(2);
        if (target.Dim(2) != scale * h)
            throw new ArgumentException($"fusion output of {refined} cannot be added to {target}");
        int rows = Math.Max(1, RowBands.Rows(BandBytes, RowBands.RowBytes(target), 0, target.Dim(2)) / scale);
        for (int a = 0; a < h; a += rows)
        {
            int n = Math.Min(rows, h - a);
            var band = Ops.Narrow(refined, 2, a, n);
            if (Deconv is not null) band = Lifetimes.Replace(band, Deconv.Forward(band));
            band = Lifetimes.Replace(band, Projection.Forward(band));
            Ops.AddSliceInPlace(band, 0, target, scale * a, 2, scale * n);
            band.Release();
        }
        refined.Release();
    }

    /// <summary>Whether the residual units work on a map like this in bands.</summary>
    internal bool WorksInBands(Tensor map) => ResidualBandRows(map) is not null;

    /// <summary>A residual unit's band is read with the two rows beyond it on each side.</summary>
    private int? ResidualBandRows(Tensor map) => BandRows(map, 4);

    /// <summary>Rows per band of a map worth doing in bands, each read with <paramref name="halo"/> more rows; else null.</summary>
    private int? BandRows(Tensor map, int halo)
    {
        int rows = RowBands.Rows(BandBytes, RowBands.RowBytes(map), halo, map.Dim(2));
        return RowBands.Worthwhile(rows, map.Dim(2)) ? rows : null;
    }
}

internal sealed class DepthProFeatureFusionStage
{
    private readonly string _path;
    public DepthProFeatureFusionLayer[] Intermediate { get; }
    public DepthProFeatureFusionLayer Final { get; }

    public DepthProFeatureFusionStage(Weights w, DepthProConfig c)
    {
        _path = w.Prefix;
        int layers = c.IntermediateHookIds.Count + c.ScaledImagesRatios.Count;
        Intermediate = Enumerable.Range(0, layers - 1).Select(i => new DepthProFeatureFusionLayer(w["intermediate"][i], c)).ToArray();
        Final = new DepthProFeatureFusionLayer(w["final"], c, useDeconv: false);
    }

    /// <summary>Returns the last fused map (only the last feeds the head); <paramref name="fusedOutputs"/>, when given, receives copies of all of them, as the reference returns.</summary>
    public Tensor Forward(List<Tensor> hiddenStates, ForwardContext context, List<Tensor>? fusedOutputs = null)
    {
        if (hiddenStates.Count != Intermediate.Length + 1)
            throw new ArgumentException($"fusion stage has {Intermediate.Length + 1} layers but got {hiddenStates.Count} feature maps");
        // Unless it is observed, the last intermediate layer's output, at the finest level, is added into the final layer's
        // residual branch band by band and never made whole: that level then holds one full map beside the coarser one's.
        bool addLastInBands = fusedOutputs is null && !ActivationTrace.Enabled && Intermediate.Length > 0 && Final.WorksInBands(hiddenStates[^1]);
        int whole = addLastInBands ? Intermediate.Length - 1 : Intermediate.Length;
        Tensor? fused = null;
        // Inputs are dead once fused; feature 0 is also the FOV head's input, so it is left to the collector.
        Tensor ResidualUnits(int i) => fused is null
            ? Intermediate[i].ResidualUnits(hiddenStates[i], null, consumeInputs: false)
            : Intermediate[i].ResidualUnits(fused, hiddenStates[i], consumeInputs: true);
        for (int i = 0; i < whole; i++)
        {
            fused = Intermediate[i].Output(ResidualUnits(i));
            ActivationTrace.Record($"{_path}.intermediate.{i}", fused);
            fusedOutputs?.Add(fused.Clone());
            context.Step("fusion");
        }
        Tensor result;
        if (addLastInBands)
        {
            var refined = ResidualUnits(whole);
            var sum = Final.ResidualBranch(hiddenStates[^1], consume: true);
            Intermediate[whole].AddOutput(refined, sum);
            context.Step("fusion");
            result = Final.Output(Final.RefineSum(sum));
        }
        else result = Final.Forward(fused!, hiddenStates[^1], consumeInputs: true);
        ActivationTrace.Record($"{_path}.final", result);
        fusedOutputs?.Add(result.Clone());
        return result;
    }
}

internal sealed class DepthProFovEncoder
{
    private readonly DepthProConfig _c;
    private readonly string _path;
    private readonly int _outSize;
    public Dinov2Model Model { get; }
    public Linear Neck { get; }

    public DepthProFovEncoder(Weights w, DepthProConfig c)
    {
        _c = c;
        _path = w.Prefix;
        _outSize = c.ImageModel.ImageSize / c.ImageModel.PatchSize;
        Model = new Dinov2Model(w["model"], c.FovModel);
        Neck = new Linear(w["neck"], c.FovModel.HiddenSize, c.FusionHiddenSize / 2);
    }

    public Tensor Forward(Tensor pixelValues, ForwardContext context)
    {
        int batch = pixelValues.Dim(0), height = pixelValues.Dim(2), width = pixelValues.Dim(3);
        int size = _c.FovModel.ImageSize;
        var resized = Ops.Interpolate(pixelValues, size, size, InterpolationMode.Bilinear, alignCorners: false);
        var hidden = Neck.Forward(Model.Forward(resized, null, context, "field-of-view encoder").LastHiddenState);
        var (baseH, baseW) = DepthProPatches.BaseSize(height, width, _outSize);
        var features = DepthProPatches.ReconstructFeatureMaps(hidden, batch, 0, baseH, baseW);
        ActivationTrace.Record(_path, features);
        return features;
    }
}

internal sealed class DepthProFovHead
{
    private readonly string _path;
    private readonly int _outSize;
    private readonly List<Func<Tensor, Tensor>> _layers = [];

    public DepthProFovHead(Weights w, DepthProConfig c)
    {
        _path = w.Prefix;
        _outSize = c.ImageModel.ImageSize / c.ImageModel.PatchSize;
        int f = c.FusionHiddenSize;
        int index = 0;
        for (int i = 0; i < c.NumFovHeadLayers; i++)
        {
            int inCh = (int)Math.Ceiling(f / Math.Pow(2, i + 1)), outCh = (int)Math.Ceiling(f / Math.Pow(2, i + 2));
            _layers.Add(new Conv2d(w["layers"][index], inCh, outCh, 3, 2, 1).Forward);
            _layers.Add(Ops.ReluInPlace);
            index += 2; // the ReLU takes a slot in the reference's ModuleList
        }
        int finalIn = (int)Math.Ceiling(f / Math.Pow(2, c.NumFovHeadLayers + 1));
        int finalKernel = (int)((_outSize - 1) / Math.Pow(2, c.NumFovHeadLayers) + 1);
        _layers.Add(new Conv2d(w["layers"][index], finalIn, 1, finalKernel).Forward);
    }

    public Tensor Forward(Tensor features)
    {
        features = Ops.Interpolate(features, _outSize, _outSize, InterpolationMode.Bilinear, alignCorners: false);
        foreach (var layer in _layers) features = layer(features);
        ActivationTrace.Record(_path, features);
        return features;
    }
}

internal sealed class DepthProFovModel(Weights w, DepthProConfig c)
{
    public DepthProFovEncoder FovEncoder { get; } = new(w["fov_encoder"], c);
    public Conv2d Conv { get; } = new(w["conv"], c.FusionHiddenSize, c.FusionHiddenSize / 2, 3, 2, 1);
    public DepthProFovHead Head { get; } = new(w["head"], c);

    /// <summary>Field of view in degrees, one per batch element.</summary>
    public Tensor Forward(Tensor pixelValues, Tensor globalFeatures, ForwardContext context)
    {
        var fovFeatures = FovEncoder.Forward(pixelValues, context);
        var global = Ops.ReluInPlace(Conv.Forward(globalFeatures));
        Ops.AddInPlace(global, fovFeatures);
        var output = Head.Forward(global);
        return output.Reshape(-1);
    }
}

internal sealed class DepthProDepthEstimationHead
{
    public Conv2d Conv1 { get; }
    public ConvTranspose2d Upsample { get; }
    public Conv2d Conv2 { get; }
    public Conv2d Conv3 { get; }

    /// <summary>
    /// Bytes of the upsampled map one band may hold. At 1536² the whole map is 1.2 GB; in bands of rows it is never made,
    /// and the bands' halos cost ~4% more work in the first convolution.
    /// </summary>
    internal long BandBytes { get; set; } = 96L << 20;

    public DepthProDepthEstimationHead(Weights w, DepthProConfig c)
    {
        int f = c.FusionHiddenSize;
        var l = w["layers"];
        Conv1 = new Conv2d(l[0], f, f / 2, 3, 1, 1);
        Upsample = new ConvTranspose2d(l[1], f / 2, f / 2, 2, 2);
        Conv2 = new Conv2d(l[2], f / 2, 32, 3, 1, 1);
        Conv3 = new Conv2d(l[4], 32, 1, 1);
    }

    /// <summary>[B, fusion, h, w] → depth [B, 2h, 2w]: conv, transposed conv ×2, conv, relu, conv, relu.</summary>
    /// <param name="hiddenStates">[B, fusion, h, w] the fusion stage's last output.</param>
    /// <param name="consumeInput">The input is the caller's to lose: it is released once read.</param>
    public Tensor Forward(Tensor hiddenStates, bool consumeInput = false)
    {
        var depth = UpsamplingHeadBands.Run(hiddenStates, BandBytes, Upsample.Weight.Dim(1), Layers);
        if (consumeInput) hiddenStates.Release();
        return depth;
    }

    /// <summary>The reference's layers on one band of rows (which it loses); the band drops the rows its edges spoiled.</summary>
    private Tensor Layers(Tensor rows, UpsamplingHeadBands.Band band)
    {
        var x = Lifetimes.Replace(rows, Conv1.Forward(rows));
        x = band.KeepFirstConvolutionRows(x);
        x = Lifetimes.Replace(x, Upsample.Forward(x));
        x = Lifetimes.Replace(x, Conv2.Forward(x));
        x = band.KeepOutputRows(x);
        // The ReLU between the second and the third convolution is applied as the third reads its input.
        x = Lifetimes.Replace(x, Conv3.Forward(x, reluInput: true));
        return Ops.ReluInPlace(x);
    }
}

/// <summary>
/// DepthPro's features for users who build on them: the image encoder's hidden states (index 0 = embeddings, i = after
/// layer i-1), the neck's multi-scale maps (DepthProModel's `features`) and, when asked, every fusion stage output.
/// </summary>
internal sealed record DepthProFeatures(
    IReadOnlyDictionary<int, Tensor> ImageEncoderHiddenStates, IReadOnlyList<Tensor> Features, IReadOnlyList<Tensor>? FusionOutputs);

/// <summary>DepthProForDepthEstimation's outputs.</summary>
/// <param name="PredictedDepth">Canonical inverse depth [B, h, w], before post-processing (<see cref="Processing.DepthProPostProcessor"/>).</param>
/// <param name="FieldOfView">With the field-of-view head, each picture's horizontal field of view in degrees [B]; else null.</param>
public sealed record DepthProOutput(Tensor PredictedDepth, Tensor? FieldOfView);

/// <summary>
/// transformers' DepthProForDepthEstimation: DINOv2 encoders of overlapping patches at three scales and of the whole
/// picture, the feature fusion stage and the depth head, and optionally the field-of-view head that estimates the focal length.
/// </summary>
public sealed class DepthProForDepthEstimation
{
    /// <summary>The validated config.json the model was built from.</summary>
    public DepthProConfig Config { get; }

    /// <summary>Whether the field-of-view head was built (the config's use_fov_model unless FromPretrained overrode it).</summary>
    public bool UseFovModel { get; }
    internal DepthProEncoder Encoder { get; }
    internal DepthProNeck Neck { get; }
    internal DepthProFeatureFusionStage FusionStage { get; }
    internal DepthProDepthEstimationHead Head { get; }
    internal DepthProFovModel? FovModel { get; }

    /// <summary>
    /// The model of a folder (config.json and model.safetensors or a sharded index), loaded strictly: every missing,
    /// unused or misshapen tensor is reported by name, except the FOV model's when it is not built (as the reference
    /// ignores them). <paramref name="options"/> asks for 8-bit or random weights.
    /// </summary>
    /// <param name="folder">The model folder.</param>
    /// <param name="options">8-bit or random weights; null: the checkpoint's as stored.</param>
    /// <param name="useFovModel">Overrides the config's use_fov_model, as the reference's constructor argument does.</param>
    /// <exception cref="ConfigException">config.json is missing a value or has an impossible one.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the config.</exception>
    public static DepthProForDepthEstimation FromPretrained(string folder, PretrainedOptions? options = null, bool? useFovModel = null)
    {
        var config = DepthProConfig.Load(Path.Combine(folder, "config.json"));
        return Pretrained.Load(folder, options, w => new DepthProForDepthEstimation(w, config, useFovModel), IgnoredUnusedPrefixes);
    }

/// <param name="w">The weights under the checkpoint's root.</param>
/// <param name="c">The validated config.</param>
    /// <param name="useFovModel">Overrides the config's use_fov_model, as the reference's constructor argument does.</param>
    internal DepthProForDepthEstimation(Weights w, DepthProConfig c, bool? useFovModel = null)
    {
        Config = c;
        UseFovModel = useFovModel ?? c.UseFovModel;
        Encoder = new DepthProEncoder(w["depth_pro"]["encoder"], c);
        Neck = new DepthProNeck(w["depth_pro"]["neck"], c);
        FusionStage = new DepthProFeatureFusionStage(w["fusion_stage"], c);
        Head = new DepthProDepthEstimationHead(w["head"], c);
        FovModel = UseFovModel ? new DepthProFovModel(w["fov_model"], c) : null;
    }

    /// <summary>Prefixes of checkpoint tensors the reference ignores when they are left unused.</summary>
    internal static readonly string[] IgnoredUnusedPrefixes = ["fov_model."];

    /// <summary>Progress steps of one forward pass: encoder layers, fusion layers, head.</summary>
    public int ForwardSteps =>
        Config.PatchModel.NumHiddenLayers + Config.ImageModel.NumHiddenLayers + FusionStage.Intermediate.Length + 1
        + (FovModel is null ? 0 : Config.FovModel.NumHiddenLayers);

    /// <summary>
    /// The encoders and the neck (and, with <paramref name="includeFusion"/>, the fusion stage) without the depth and FOV
    /// heads: the reference's DepthProModel output with output_hidden_states.
    /// </summary>
    internal DepthProFeatures ExtractFeatures(Tensor pixelValues, bool includeFusion = false, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        var hidden = new Dictionary<int, Tensor>();
        var features = Neck.Forward(Encoder.Forward(pixelValues, context, hidden));
        List<Tensor>? fusion = null;
        if (includeFusion)
        {
            fusion = [];
            // The fusion stage frees its inputs, so it works on copies and the caller keeps the neck's maps.
            FusionStage.Forward(features.Select(f => f.Clone()).ToList(), context, fusion);
        }
        return new DepthProFeatures(hidden, features, fusion);
    }

    /// <summary>Canonical inverse depth for pixel values [B, 3, H, W] (1536 × 1536 for the released checkpoint) and, with the field-of-view head, the field of view.</summary>
    /// <param name="pixelValues">[B, 3, H, W] from the family's image processor; the size the config's patch_size and scales expect.</param>
    /// <param name="progress">Receives one <see cref="ModelProgress"/> per step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public DepthProOutput Forward(Tensor pixelValues, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        var features = Neck.Forward(Encoder.Forward(pixelValues, context));
        var globalFeatures = features[0];
        var fused = FusionStage.Forward(features, context);
        var predictedDepth = Head.Forward(fused, consumeInput: true);
        context.Step("head");
        Tensor? fov = null;
        if (FovModel is not null)
            fov = FovModel.Forward(pixelValues, globalFeatures, context);
        return new DepthProOutput(predictedDepth, fov);
    }
}
