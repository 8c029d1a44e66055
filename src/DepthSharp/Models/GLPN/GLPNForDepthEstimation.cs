using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>transformers' GLPNForDepthEstimation: the Mix Transformer encoder, the fusing decoder and the depth head (metres up to max_depth).</summary>
public sealed class GLPNForDepthEstimation
{
    /// <summary>The validated configuration.</summary>
    public GLPNConfig Config { get; }
    /// <summary>glpn: the encoder.</summary>
    internal GLPNModel Glpn { get; }
    /// <summary>decoder.</summary>
    internal GLPNDecoder Decoder { get; }
    /// <summary>head.</summary>
    internal GLPNDepthEstimationHead Head { get; }

    /// <summary>Builds the model from <paramref name="w"/> (a checkpoint, random weights or a shape recorder) for a validated config.</summary>
    internal GLPNForDepthEstimation(Weights w, GLPNConfig c)
    {
        Config = c;
        Glpn = new GLPNModel(w["glpn"], c);
        Decoder = new GLPNDecoder(w["decoder"], c);
        Head = new GLPNDepthEstimationHead(w["head"], c);
    }

    /// <summary>
    /// A model folder's config.json and weights (or random weights, or 8-bit ones: <paramref name="options"/>), loaded
    /// strictly: every missing, unused or misshapen tensor is reported by name in one <see cref="CheckpointException"/>; a
    /// bad config value is a <see cref="ConfigException"/> naming its field.
    /// </summary>
    public static GLPNForDepthEstimation FromPretrained(string folder, PretrainedOptions? options = null)
    {
        var config = GLPNConfig.Load(Path.Combine(folder, "config.json"));
        return Pretrained.Load(folder, options, w => new GLPNForDepthEstimation(w, config));
    }

    /// <summary>Progress steps of one forward pass: encoder layers, decoder stages, head.</summary>
    public int ForwardSteps => Config.Depths.Sum() + Config.NumEncoderBlocks + 1;

    /// <summary>Depth [B, h, w] for pixel values [B, C, H, W] (the caller's, kept); h × w is H × W with the default head_in_index.</summary>
    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        RequireInputFits(pixelValues);
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        var hiddenStates = Glpn.Forward(pixelValues, context);
        var decoded = Decoder.Forward(hiddenStates, Config.HeadIndex, context);
        var predictedDepth = Lifetimes.Replace(decoded, Head.Forward(decoded));
        context.Step("head");
        return predictedDepth;
    }

    /// <summary>
    /// Refuses, before any work, an input whose stage maps the reference would fail on: a spatial reduction larger than
    /// its map, or a map that the next stage's ×2 upsampling does not give back exactly (sides not multiples of the
    /// strides' product, as the processor makes them).
    /// </summary>
    private void RequireInputFits(Tensor pixelValues)
    {
        var c = Config;
        if (pixelValues.Rank != 4 || pixelValues.Dim(1) != c.NumChannels)
            throw new ArgumentException($"pixel values must be [batch, {c.NumChannels}, height, width], got {pixelValues}");
        int h = pixelValues.Dim(2), w = pixelValues.Dim(3);
        long multiple = c.Strides.Aggregate(1L, (a, s) => a * s);
        string hint = $"a {w}x{h} input does not fit GLPN's stages; give sides that are multiples of {multiple}";
        int prevH = 0, prevW = 0;
        for (int i = 0; i < c.NumEncoderBlocks; i++)
        {
            int k = c.PatchSizes[i], s = c.Strides[i], pad = k / 2;
            if (h + 2 * pad < k || w + 2 * pad < k) throw new ArgumentException($"{hint} (stage {i}'s {k}x{k} embedding does not fit)");
            h = (h + 2 * pad - k) / s + 1;
            w = (w + 2 * pad - k) / s + 1;
            if (h < c.SrRatios[i] || w < c.SrRatios[i])
                throw new ArgumentException($"{hint} (stage {i}'s {w}x{h} map is smaller than its reduction ratio {c.SrRatios[i]})");
            if (i > 0 && (2 * h != prevH || 2 * w != prevW))
                throw new ArgumentException($"{hint} (stage {i}'s {w}x{h} map, doubled, does not meet stage {i - 1}'s {prevW}x{prevH})");
            (prevH, prevW) = (h, w);
        }
    }
}
