using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>How a fusion stage sizes each fused map.</summary>
internal enum FusionUpsampling
{
    /// <summary>Twice the map's size (scale_factor=2), as DPT and ZoeDepth do.</summary>
    Double,
    /// <summary>The size of the next (finer) neck map, as Depth Anything does; the last map is doubled.</summary>
    ToNextMap,
}

/// <summary>Merges the running map with the next neck map, refines it, up-samples it (align_corners) and projects it.</summary>
/// <param name="w">The layer's weights (…fusion_stage.layers.{i}).</param>
/// <param name="channels">fusion_hidden_size.</param>
/// <param name="residualUnits">How its two residual units are built.</param>
internal sealed class DPTFeatureFusionLayer(Weights w, int channels, ResidualUnitStyle residualUnits)
{
    /// <summary>Refines the next neck map before it joins the running one.</summary>
    public PreActResidualLayer ResidualLayer1 { get; } = new(w["residual_layer1"], channels, residualUnits);

    /// <summary>Refines the sum.</summary>
    public PreActResidualLayer ResidualLayer2 { get; } = new(w["residual_layer2"], channels, residualUnits);

    /// <summary>The 1×1 output projection.</summary>
    public Conv2d Projection { get; } = new(w["projection"], channels, channels, 1);

    /// <summary>The fused map: unit2(hiddenState + unit1(residual)) (or unit2(hiddenState) for the first layer), up-sampled and projected.</summary>
    /// <param name="hiddenState">The running map [B, C, h, w].</param>
    /// <param name="residual">The next (finer) neck map, or null for the first layer.</param>
    /// <param name="size">Output size; null doubles the input's, as scale_factor=2 does.</param>
    /// <param name="consumeHiddenState">The running map is the caller's to lose: it is released (or written over) once read.</param>
    /// <param name="consumeResidual">The same for the next neck map.</param>
    public Tensor Forward(Tensor hiddenState, Tensor? residual = null, (int H, int W)? size = null,
        bool consumeHiddenState = false, bool consumeResidual = false)
    {
        hiddenState = Merge(hiddenState, residual, consumeHiddenState, consumeResidual);
        return ResizeAndProject(hiddenState, size);
    }

    /// <summary>
    /// The forward pass up to the resize: unit2(hiddenState + unit1(residual)), or unit2(hiddenState) for the first layer.
    /// Prompt Depth Anything adds its prompt's features between this and <see cref="ResizeAndProject"/>.
    /// </summary>
    /// <param name="hiddenState">The running map [B, C, h, w].</param>
    /// <param name="residual">The next (finer) neck map, or null for the first layer.</param>
    /// <param name="consumeHiddenState">The running map is the caller's to lose: it is released (or written over) once read.</param>
    /// <param name="consumeResidual">The same for the next neck map.</param>
    /// <returns>A new map [B, C, h, w], the caller's.</returns>
    public Tensor Merge(Tensor hiddenState, Tensor? residual, bool consumeHiddenState = false, bool consumeResidual = false)
    {
        if (residual is not null)
        {
            // Odd grids leave the maps a pixel apart; the reference resizes the incoming map to the running one.
            if (!residual.Shape.AsSpan().SequenceEqual(hiddenState.Shape))
            {
                var resized = Ops.Interpolate(residual, hiddenState.Dim(2), hiddenState.Dim(3), InterpolationMode.Bilinear, alignCorners: false);
                if (consumeResidual) residual.Release();
                residual = resized;
                consumeResidual = true;
            }
            var refined = ResidualLayer1.Forward(residual, consumeInput: consumeResidual);
            Ops.AddInPlace(refined, hiddenState);
            if (consumeHiddenState) hiddenState.Release();
            hiddenState = refined;
        }
        return ResidualLayer2.Forward(hiddenState, consumeInput: residual is not null || consumeHiddenState);
    }

    /// <summary>The rest of the forward pass: the merged map (released) up-sampled (align_corners) to <paramref name="size"/> and projected.</summary>
    /// <param name="hiddenState">The merged map [B, C, h, w], the caller's to lose.</param>
    /// <param name="size">Output size; null doubles the input's, as scale_factor=2 does.</param>
    public Tensor ResizeAndProject(Tensor hiddenState, (int H, int W)? size)
    {
        // The reference resizes, then projects. A 1×1 convolution mixes channels pixel by pixel and a bilinear resize mixes
        // pixels channel by channel with weights summing to one, so the two commute (bias included): projecting first
        // does the same on a quarter of the pixels.
        hiddenState = Lifetimes.Replace(hiddenState, Projection.Forward(hiddenState));
        return Lifetimes.Replace(hiddenState, size is (int h, int wd)
            ? Ops.Interpolate(hiddenState, h, wd, InterpolationMode.Bilinear, alignCorners: true)
            : Ops.Interpolate(hiddenState, 2.0, InterpolationMode.Bilinear, alignCorners: true));
    }
}

/// <summary>How a fusion stage runs its layer <paramref name="index"/>: <see cref="DPTFeatureFusionLayer.Forward"/>'s arguments.</summary>
internal delegate Tensor FusionLayerStep(int index, Tensor hiddenState, Tensor? residual, (int H, int W)? size,
    bool consumeHiddenState, bool consumeResidual);

/// <summary>
/// The fusion stage: layers run from the coarsest map to the finest. Records every fused map under <c>{neck}.{i}</c>
/// and returns the one the head reads.
/// </summary>
internal sealed class DPTFeatureFusionStage
{
    private readonly string _tracePath;
    private readonly int _headIndex;
    private readonly FusionUpsampling _upsampling;

    /// <summary>One layer per neck map, the first for the coarsest.</summary>
    public DPTFeatureFusionLayer[] Layers { get; }

    /// <param name="w">The stage's weights (…fusion_stage).</param>
    /// <param name="tracePath">The neck's path: the reference's neck returns the fused maps.</param>
    /// <param name="count">Neck maps to fuse.</param>
    /// <param name="channels">fusion_hidden_size.</param>
    /// <param name="residualUnits">How the layers' residual units are built.</param>
    /// <param name="headInIndex">head_in_index: the fused map the head reads (negative counts from the last).</param>
    /// <param name="upsampling">How each fused map is sized.</param>
    public DPTFeatureFusionStage(Weights w, string tracePath, int count, int channels, ResidualUnitStyle residualUnits, int headInIndex,
        FusionUpsampling upsampling)
    {
        _tracePath = tracePath;
        _headIndex = headInIndex < 0 ? headInIndex + count : headInIndex;
        _upsampling = upsampling;
        Layers = Enumerable.Range(0, count).Select(i => new DPTFeatureFusionLayer(w["layers"][i], channels, residualUnits)).ToArray();
    }

    /// <summary>Fuses the maps from the coarsest to the finest and returns the fused map the head reads (head_in_index).</summary>
    /// <param name="features">Neck maps from finest to coarsest; entries are released as they are fused.</param>
    /// <param name="context">Progress (a step per layer) and cancellation.</param>
    /// <param name="layerStep">Runs a layer in place of its <see cref="DPTFeatureFusionLayer.Forward"/>, as Prompt Depth Anything's
    /// layers, which add the prompt, do; null: the layers as they are.</param>
    public Tensor Forward(Tensor[] features, ForwardContext context, FusionLayerStep? layerStep = null)
    {
        if (features.Length != Layers.Length) throw new ArgumentException($"fusion stage has {Layers.Length} layers but got {features.Length} maps");
        layerStep ??= (i, hiddenState, residual, size, consumeHiddenState, consumeResidual) =>
            Layers[i].Forward(hiddenState, residual, size, consumeHiddenState, consumeResidual);
        Tensor? fused = null, forHead = null;
        for (int i = 0; i < Layers.Length; i++)
        {
            int from = features.Length - 1 - i;
            (int, int)? size = _upsampling == FusionUpsampling.ToNextMap && from > 0 ? (features[from - 1].Dim(2), features[from - 1].Dim(3)) : null;
            // The map handed to the head stays alive; every other input is released as it is fused.
            fused = fused is null
                ? layerStep(i, features[from], null, size, consumeHiddenState: true, consumeResidual: false)
                : layerStep(i, fused, features[from], size, consumeHiddenState: !ReferenceEquals(fused, forHead), consumeResidual: true);
            features[from] = null!;
            ActivationTrace.Record($"{_tracePath}.{i}", fused);
            if (i == _headIndex) forHead = fused;
            context.Step("fusion");
        }
        return forHead!;
    }
}
