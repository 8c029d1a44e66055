using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Swinv2PatchMerging: each 2×2 patch's four tokens side by side (odd maps padded first), reduced to twice the channels and normed.</summary>
internal sealed class Swinv2PatchMerging(Weights w, int dim)
{
    public Linear Reduction { get; } = new(w["reduction"], 4 * dim, 2 * dim, bias: false);
    // nn.LayerNorm's own eps, as the reference builds it.
    public LayerNorm Norm { get; } = new(w["norm"], 2 * dim, 1e-5);

    /// <summary>[B, height·width, C] → [B, ⌈height/2⌉·⌈width/2⌉, 2C].</summary>
    public Tensor Forward(Tensor inputFeature, int height, int width)
    {
        int batchSize = inputFeature.Dim(0), numChannels = inputFeature.Dim(2);
        var feature = MaybePad(inputFeature.Reshape(batchSize, height, width, numChannels), height, width);
        int halfHeight = feature.Dim(1) / 2, halfWidth = feature.Dim(2) / 2;
        // [B, h/2, row parity, w/2, column parity, C] → [B, h/2, w/2, column parity, row parity, C]: the reference's
        // concatenation order, (even, even), (odd row, even column), (even row, odd column), (odd, odd).
        var merged = Ops.Permute(feature.Reshape(batchSize, halfHeight, 2, halfWidth, 2, numChannels), 0, 1, 3, 4, 2, 5)
            .Reshape(batchSize, halfHeight * halfWidth, 4 * numChannels);
        if (feature.Data != inputFeature.Data) feature.Release();
        merged = Lifetimes.Replace(merged, Reduction.Forward(merged));
        return Lifetimes.Replace(merged, Norm.Forward(merged));
    }

    /// <summary>A zero column on the right and a zero row at the bottom where the map's width or height is odd.</summary>
    private static Tensor MaybePad(Tensor map, int height, int width)
    {
        var padded = width % 2 == 1 ? Ops.PadEnd(map, 2, 1) : map;
        if (height % 2 == 0) return padded;
        var taller = Ops.PadEnd(padded, 1, 1);
        if (padded != map) padded.Release();
        return taller;
    }
}

/// <summary>The output of a <see cref="Swinv2Stage"/>: the downsampled map for the next stage and the map before downsampling.</summary>
internal readonly record struct Swinv2StageOutput(Swinv2Tokens HiddenStates, Swinv2Tokens BeforeDownsampling);

/// <summary>Swinv2Stage: blocks alternating plain and shifted windows, then patch merging on all but the last stage.</summary>
internal sealed class Swinv2Stage
{
    private readonly string _path;
    public Swinv2Layer[] Blocks { get; }
    public Swinv2PatchMerging? Downsample { get; }

    /// <param name="stage">The stage's index: its channels, heads, build-time map side and pre-trained window come from the config.</param>
    /// <param name="w">The weights under the module's path.</param>
    /// <param name="c">The validated config.</param>
    public Swinv2Stage(Weights w, Swinv2Config c, int stage)
    {
        _path = w.Prefix;
        int dim = c.StageDim(stage), resolution = c.StageResolution(stage);
        // Every block of a stage has the same window; they share its offset index.
        var (window, _) = Swinv2Layer.ComputeWindowShift(resolution, c.WindowSize, 0);
        var relativePositionIndex = Swinv2SelfAttention.RelativePositionIndex(window);
        Blocks = new Swinv2Layer[c.Depths[stage]];
        for (int i = 0; i < Blocks.Length; i++)
            Blocks[i] = new Swinv2Layer(w["blocks"][i], c, dim, resolution, c.NumHeads[stage], i % 2 == 0 ? 0 : c.WindowSize / 2,
                c.PretrainedWindowSize(stage), relativePositionIndex);
        Downsample = stage < c.NumLayers - 1 ? new Swinv2PatchMerging(w["downsample"], dim) : null;
    }

    /// <summary>Runs the blocks and the merging; the input is left to the caller, and without merging both outputs are one tensor.</summary>
    public Swinv2StageOutput Forward(Swinv2Tokens input, ForwardContext? context = null, string progressStage = "backbone")
    {
        var (hiddenStates, height, width) = input;
        foreach (var block in Blocks)
        {
            var next = block.Forward(hiddenStates, height, width);
            if (hiddenStates != input.HiddenStates) hiddenStates.Release();
            hiddenStates = next;
            context?.Step(progressStage);
        }
        // With no blocks the stage passes its input on: a copy, so that the caller may release either.
        var before = new Swinv2Tokens(hiddenStates == input.HiddenStates ? hiddenStates.Clone() : hiddenStates, height, width);
        var output = Downsample is null ? before
            : new Swinv2Tokens(Downsample.Forward(before.HiddenStates, height, width), (height + 1) / 2, (width + 1) / 2);
        ActivationTrace.Record($"{_path}.0", output.HiddenStates);
        ActivationTrace.Record($"{_path}.1", before.HiddenStates);
        return new Swinv2StageOutput(output, before);
    }
}
