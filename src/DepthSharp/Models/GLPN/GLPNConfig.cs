using System.Text.Json;
using System.Text.Json.Serialization;

namespace DepthSharp.Models.Configs;

/// <summary>
/// transformers' GLPNConfig: names as in config.json, defaults as the reference's. The per-stage lists hold one entry per
/// encoder block. The dropout, drop-path and initialiser values only matter in training; layer_norm_eps is read but the
/// reference's layer norms all use PyTorch's default 1e-5 whatever it says.
/// </summary>
public sealed class GLPNConfig : IPretrainedConfig
{
    /// <summary>The eps of every layer norm in the reference (nn.LayerNorm's default; layer_norm_eps is not passed on).</summary>
    internal const double ModuleLayerNormEps = 1e-5;

    /// <summary>The eps of the decoder's batch norms (nn.BatchNorm2d's default).</summary>
    internal const double BatchNormEps = 1e-5;

    /// <summary>Always "glpn".</summary>
    public string ModelType { get; set; } = "glpn";
    /// <summary>Channels of the input picture.</summary>
    public int NumChannels { get; set; } = 3;
    /// <summary>Encoder stages; every per-stage list has this many entries.</summary>
    public int NumEncoderBlocks { get; set; } = 4;
    /// <summary>Transformer layers per stage.</summary>
    public List<int> Depths { get; set; } = [2, 2, 2, 2];
    /// <summary>Per stage, the side of the strided convolution that shortens the keys and values (1: none).</summary>
    public List<int> SrRatios { get; set; } = [8, 4, 2, 1];
    /// <summary>Per stage, the token width.</summary>
    public List<int> HiddenSizes { get; set; } = [32, 64, 160, 256];
    /// <summary>Per stage, the kernel of the overlapping patch embedding (padded by half of it).</summary>
    public List<int> PatchSizes { get; set; } = [7, 3, 3, 3];
    /// <summary>Per stage, the stride of the overlapping patch embedding.</summary>
    public List<int> Strides { get; set; } = [4, 2, 2, 2];
    /// <summary>Per stage, the attention heads.</summary>
    public List<int> NumAttentionHeads { get; set; } = [1, 2, 5, 8];
    /// <summary>Per stage, the Mix-FFN's width as a multiple of the token width (truncated to an integer, as the reference).</summary>
    public List<double> MlpRatios { get; set; } = [4, 4, 4, 4];
    /// <summary>The Mix-FFN's activation: gelu, relu, silu or swish.</summary>
    public HiddenAct HiddenAct { get; set; } = HiddenAct.Gelu;
    /// <summary>Training only.</summary>
    public double HiddenDropoutProb { get; set; }
    /// <summary>Training only.</summary>
    public double AttentionProbsDropoutProb { get; set; }
    /// <summary>Training only.</summary>
    public double InitializerRange { get; set; } = 0.02;
    /// <summary>Training only (stochastic depth).</summary>
    public double DropPathRate { get; set; } = 0.1;
    /// <summary>Unused by the reference's modules (see <see cref="ModuleLayerNormEps"/>).</summary>
    public double LayerNormEps { get; set; } = 1e-6;
    /// <summary>Channels of every decoder stage and of the head.</summary>
    public int DecoderHiddenSize { get; set; } = 64;
    /// <summary>The head's sigmoid output is scaled to [0, max_depth].</summary>
    public double MaxDepth { get; set; } = 10;
    /// <summary>Which decoder output the head reads (negative counts from the end).</summary>
    public int HeadInIndex { get; set; } = -1;

    /// <summary>Keys of config.json this class does not name, kept as read.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The decoder output the head reads, as an index from the start.</summary>
    [JsonIgnore] internal int HeadIndex => HeadInIndex < 0 ? NumEncoderBlocks + HeadInIndex : HeadInIndex;

    /// <summary>The Mix-FFN width of a stage: int(hidden_size · mlp_ratio).</summary>
    internal int MlpHiddenSize(int stage) => (int)(HiddenSizes[stage] * MlpRatios[stage]);

    /// <summary>Reads and validates a glpn config.json.</summary>
    public static GLPNConfig Load(string path) => ConfigLoader.Load(path, GLPNConfigJson.Default.GLPNConfig);

    /// <summary>GLPN fills nothing the file leaves out beyond the defaults: this validates.</summary>
    public void Complete(string? file) => Validate(file);

    /// <summary>Checks every value the model uses; throws a <see cref="ConfigException"/> naming the field.</summary>
    internal void Validate(string? file)
    {
        void Fail(string field, string why) => throw new ConfigException(file, $"{field}: {why}");
        if (ModelType != "glpn") Fail("model_type", $"expected 'glpn', got '{ModelType}'");
        if (NumChannels <= 0) Fail("num_channels", $"must be positive, got {NumChannels}");
        if (NumEncoderBlocks <= 0) Fail("num_encoder_blocks", $"must be positive, got {NumEncoderBlocks}");
        int n = NumEncoderBlocks;
        void PerStage<T>(string field, List<T>? values, Func<T, bool> ok, string what)
        {
            if (values is null) Fail(field, "must be a list");
            if (values!.Count != n) Fail(field, $"has {values.Count} entries but num_encoder_blocks is {n}");
            foreach (var v in values)
                if (!ok(v)) Fail(field, $"{v} is not {what}");
        }
        PerStage("depths", Depths, d => d is >= 0 and <= ConfigLoader.MaxLayers, $"a layer count (0 to {ConfigLoader.MaxLayers})");
        PerStage("sr_ratios", SrRatios, r => r >= 1, "a reduction ratio (at least 1)");
        PerStage("hidden_sizes", HiddenSizes, h => h > 0, "a positive size");
        PerStage("patch_sizes", PatchSizes, p => p > 0, "a positive kernel size");
        PerStage("strides", Strides, s => s > 0, "a positive stride");
        PerStage("num_attention_heads", NumAttentionHeads, h => h > 0, "a positive head count");
        PerStage("mlp_ratios", MlpRatios, r => double.IsFinite(r) && r > 0 && r <= 1 << 16, "a positive ratio (at most 65536)");
        for (int i = 0; i < n; i++)
        {
            if (HiddenSizes[i] % NumAttentionHeads[i] != 0)
                Fail("num_attention_heads", $"{NumAttentionHeads[i]} heads do not divide stage {i}'s hidden size {HiddenSizes[i]}");
            if (MlpHiddenSize(i) <= 0) Fail("mlp_ratios", $"{MlpRatios[i]} gives stage {i} a Mix-FFN of no channels");
            // Each decoder stage doubles its map to meet the stage before: only a stride-2 embedding with an odd kernel
            // (padded by half of it) halves an even map exactly, so any other value fails for every input.
            if (i > 0 && Strides[i] != 2) Fail("strides", $"stage {i} has stride {Strides[i]}, but the decoder upsamples every stage after the first by 2");
            if (i > 0 && PatchSizes[i] % 2 == 0) Fail("patch_sizes", $"stage {i} has an even kernel {PatchSizes[i]}, whose map the decoder's ×2 upsampling cannot meet");
        }
        // The fusion's second convolution has decoder_hidden_size / 2 channels.
        if (DecoderHiddenSize < 2) Fail("decoder_hidden_size", $"must be at least 2, got {DecoderHiddenSize}");
        if (!double.IsFinite(MaxDepth) || MaxDepth <= 0) Fail("max_depth", $"must be a positive number, got {MaxDepth}");
        if (HeadInIndex < -n || HeadInIndex >= n) Fail("head_in_index", $"{HeadInIndex} is not a decoder stage (there are {n})");
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict, ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(GLPNConfig))]
internal sealed partial class GLPNConfigJson : JsonSerializerContext;
