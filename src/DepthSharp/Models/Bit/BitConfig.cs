using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>BiT's two residual units (layer_type).</summary>
[JsonConverter(typeof(BitLayerTypeJson))]
public enum BitLayerType
{
    /// <summary>"preactivation": norm and activation before each convolution (ResNet v2).</summary>
    Preactivation,
    /// <summary>"bottleneck": convolution, then norm and activation (ResNet v1.5), as ViT-hybrid uses.</summary>
    Bottleneck,
}

/// <summary>How the convolutions pad (global_padding).</summary>
public enum BitPadding
{
    /// <summary>global_padding null: PyTorch's symmetric ((stride − 1) + dilation·(kernel − 1)) / 2 on each side.</summary>
    Symmetric,
    /// <summary>"SAME": TensorFlow's, out = ceil(in / stride), the odd pixel of padding to the right and bottom.</summary>
    Same,
}

/// <summary>
/// transformers' BitConfig: names as in config.json (here DPT-Hybrid's backbone_config), defaults as the reference's.
/// layer_type and hidden_act are enums as the file is read; global_padding, where null is a value of its own, becomes
/// <see cref="Padding"/> in <see cref="Validate"/>.
/// </summary>
public sealed class BitConfig : IBackboneConfig
{
    /// <summary>model_type: "bit".</summary>
    public string ModelType { get; set; } = "bit";
    /// <summary>num_channels: colour channels of the input (3).</summary>
    public int NumChannels { get; set; } = 3;
    /// <summary>embedding_size: channels of the stem convolution.</summary>
    public int EmbeddingSize { get; set; } = 64;
    /// <summary>hidden_sizes: per stage, the output channels (before width_factor).</summary>
    public List<int> HiddenSizes { get; set; } = [256, 512, 1024, 2048];
    /// <summary>depths: per stage, the number of bottleneck units.</summary>
    public List<int> Depths { get; set; } = [3, 4, 6, 3];
    /// <summary>layer_type: pre-activation or post-activation (bottleneck) units.</summary>
    public BitLayerType LayerType { get; set; } = BitLayerType.Preactivation;
    /// <summary>hidden_act: the activation after each group norm.</summary>
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Relu;
    /// <summary>"SAME" (either case) or null; the reference also takes "VALID", with which no BiT can run.</summary>
    public string? GlobalPadding { get; set; }
    /// <summary>num_groups: groups of every group norm.</summary>
    public int NumGroups { get; set; } = 32;
    /// <summary>Stochastic depth: training only.</summary>
    public double DropPathRate { get; set; }
    /// <summary>embedding_dynamic_padding: the stem pads to "same" as the input size needs it.</summary>
    public bool EmbeddingDynamicPadding { get; set; }
    /// <summary>output_stride: the backbone's overall stride; past it stages dilate instead of striding.</summary>
    public int OutputStride { get; set; } = 32;
    /// <summary>width_factor: multiplies every stage's channels.</summary>
    public int WidthFactor { get; set; } = 1;
    /// <summary>out_features: the stages ("stem", "stage1", ...) whose maps the backbone returns; null: see out_indices.</summary>
    public List<string>? OutFeatures { get; set; }
    /// <summary>out_indices: indices of those stages; null with out_features null: the last stage.</summary>
    public List<int>? OutIndices { get; set; }

    /// <summary>Keys this class does not model (stage_names, which the reference derives again, ...), kept as they were.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>global_padding, valid after <see cref="Validate"/>.</summary>
    [JsonIgnore] public BitPadding Padding { get; private set; }

    /// <summary>Indices into <see cref="StageNames"/> of the feature maps the backbone returns; valid after <see cref="Validate"/>.</summary>
    [JsonIgnore] internal IReadOnlyList<int> OutStageIndices { get; private set; } = [];

    /// <summary>The encoder's stages: the reference pairs depths with hidden_sizes, so the shorter list decides.</summary>
    [JsonIgnore] public int NumStages => Math.Min(Depths.Count, HiddenSizes.Count);

    /// <summary>"stem" (the embedder's output), then "stage1".."stageN"; the reference derives them from depths.</summary>
    [JsonIgnore] public IReadOnlyList<string> StageNames => ["stem", .. Enumerable.Range(1, Depths.Count).Select(i => $"stage{i}")];

    /// <summary>Output channels of encoder stage <paramref name="stage"/> (0-based).</summary>
    internal int StageChannels(int stage) => MakeDiv(HiddenSizes[stage] * WidthFactor);

    /// <summary>Channels of the feature map <see cref="StageNames"/>[<paramref name="index"/>].</summary>
    internal int FeatureChannels(int index) => index == 0 ? EmbeddingSize : StageChannels(index - 1);

    /// <summary>
    /// Dilated convolutions run as undilated ones over kernels spread out with zeros, whose cost grows with the square of
    /// the dilation; any output stride on four stages (the released models' count) needs at most 8.
    /// </summary>
    internal const int MaxDilation = 8;

    /// <summary>
    /// Each stage's stride and dilation: the stem reduces by 4, the first stage keeps the size and each later one halves
    /// it, until the reduction reaches output_stride; from then on a stage dilates instead of striding.
    /// </summary>
    internal (int Stride, int Dilation)[] StageLayout()
    {
        var layout = new (int Stride, int Dilation)[NumStages];
        long reduction = 4, dilation = 1;
        for (int s = 0; s < layout.Length; s++)
        {
            int stride = s == 0 ? 1 : 2;
            if (reduction >= OutputStride)
            {
                dilation = Math.Min(dilation * stride, MaxDilation + 1L);
                stride = 1;
            }
            reduction *= stride;
            layout[s] = (stride, (int)dilation);
        }
        return layout;
    }

    /// <summary>
    /// The side of feature map <see cref="StageNames"/>[<paramref name="index"/>] for a square input of
    /// <paramref name="input"/> pixels: the stem's convolution and pool (after the one-pixel border unless "SAME") and
    /// each stage's stride all round up, as their padding makes them. Valid after <see cref="Validate"/>.
    /// </summary>
    internal int FeatureSide(int input, int index)
    {
        int side = (input + 1) / 2;
        if (Padding != BitPadding.Same) side += 2;
        side = EmbeddingDynamicPadding ? (side + 1) / 2 : Math.Max(0, (side - 3) / 2 + 1);
        var layout = StageLayout();
        for (int s = 0; s < index; s++) side = (side + layout[s].Stride - 1) / layout[s].Stride;
        return side;
    }

    /// <summary>
    /// The reference's make_div: <paramref name="value"/> rounded to the nearest multiple of <paramref name="divisor"/>
    /// (at least one), raised by one more multiple if that fell more than 10% short.
    /// </summary>
    internal static int MakeDiv(double value, int divisor = 8)
    {
        int rounded = Math.Max(divisor, (int)(value + divisor / 2.0) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }

    /// <summary>The bottleneck width of a unit with <paramref name="outChannels"/> outputs (bottle_ratio 0.25).</summary>
    internal static int MidChannels(int outChannels) => MakeDiv(outChannels * 0.25);

    /// <summary>Rejects values the backbone cannot take; <paramref name="where"/> is the JSON path of this config.</summary>
    public void Validate(string? file, string where)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{where}{field}: {why}");
        if (ModelType != "bit") Fail("model_type", $"'{ModelType}' is not a BiT config (expected 'bit')");
        if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
        if (EmbeddingSize <= 0) Fail("embedding_size", $"must be positive, got {EmbeddingSize}");
        if (Depths is null || Depths.Count == 0) Fail("depths", "must list at least one stage");
        // A stage without layers would hand its input on under the next stage's expected width.
        if (Depths!.Any(d => d is <= 0 or > ConfigLoader.MaxLayers)) Fail("depths", $"[{string.Join(", ", Depths!)}]: every stage needs 1 to {ConfigLoader.MaxLayers} layers");
        if (HiddenSizes is null || HiddenSizes.Count < Depths!.Count)
            Fail("hidden_sizes", $"needs an entry for each of the {Depths!.Count} stages of depths");
        if (HiddenSizes!.Any(s => s <= 0)) Fail("hidden_sizes", $"[{string.Join(", ", HiddenSizes!)}]: must be positive");
        if (WidthFactor <= 0) Fail("width_factor", $"must be positive, got {WidthFactor}");
        if (HiddenSizes!.Any(s => (long)s * WidthFactor > int.MaxValue / 2))
            Fail("width_factor", $"{WidthFactor} times hidden_sizes [{string.Join(", ", HiddenSizes!)}] is out of range");
        Padding = GlobalPadding?.ToUpperInvariant() switch
        {
            null => BitPadding.Symmetric,
            "SAME" => BitPadding.Same,
            // The reference accepts it, but unpadded every unit's 3×3 convolution comes out two pixels short of its
            // shortcut, and adding them fails.
            "VALID" => throw new ConfigException(file, $"{where}global_padding: 'VALID' cannot add the units' convolutions to their shortcuts (the reference fails too)"),
            _ => throw new ConfigException(file, $"{where}global_padding: '{GlobalPadding}' is not 'SAME', 'VALID' or null"),
        };
        if (NumGroups <= 0) Fail("num_groups", $"must be positive, got {NumGroups}");
        foreach (var (what, channels) in NormalisedWidths())
            if (channels % NumGroups != 0) Fail("num_groups", $"{NumGroups} does not divide the {channels} channels of {what}");
        // The reference applies that norm to the last stage's output in every forward pass, backbone or not.
        if (LayerType == BitLayerType.Preactivation && HiddenSizes![^1] != StageChannels(NumStages - 1))
            Fail("hidden_sizes", $"the final norm takes hidden_sizes[-1] = {HiddenSizes![^1]} channels but the last stage gives {StageChannels(NumStages - 1)}");
        if (OutputStride <= 0) Fail("output_stride", $"must be positive, got {OutputStride}");
        if (StageLayout().Any(l => l.Dilation > MaxDilation))
            Fail("output_stride", $"{OutputStride} dilates the later of the {NumStages} stages by more than {MaxDilation}, which is not supported");
        OutStageIndices = BackboneStages.Align(Fail, StageNames, OutFeatures, OutIndices);
    }

    /// <summary>Every width a group norm of the configured model normalises, with where it is.</summary>
    private IEnumerable<(string What, int Channels)> NormalisedWidths()
    {
        // The preactivation model's first unit normalises the embedder's output; the bottleneck model's embedder does.
        yield return ("embedding_size", EmbeddingSize);
        for (int s = 0; s < NumStages; s++)
        {
            yield return ($"stage {s + 1}'s bottleneck", MidChannels(StageChannels(s)));
            yield return ($"stage {s + 1}'s output", StageChannels(s));
        }
        // The preactivation model's final norm is sized by the last hidden size as written, whatever the stages give.
        if (LayerType == BitLayerType.Preactivation) yield return ("hidden_sizes[-1]", HiddenSizes[^1]);
    }
}

internal sealed class BitLayerTypeJson() : ConfigEnumConverter<BitLayerType>(
    ("preactivation", BitLayerType.Preactivation), ("bottleneck", BitLayerType.Bottleneck));
