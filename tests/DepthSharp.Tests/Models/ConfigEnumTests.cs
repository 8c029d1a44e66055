using System.Text.Json.Nodes;
using DepthSharp.Models.Configs;

namespace DepthSharp.Tests.Models;

/// <summary>
/// Every enum-like config string becomes its C# enum when config.json is read (each allowed spelling), and an unknown one
/// is refused with a <see cref="ConfigException"/> naming the file, the field and the allowed values.
/// </summary>
public sealed class ConfigEnumTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-config-enum-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Where each enum-like field lives: a fixture whose config has it, and how to read the parsed value back.</summary>
    private static readonly Dictionary<string, (string Fixture, Func<string, object> Read)> Fields = new()
    {
        ["dpt:hidden_act"] = ("dpt_tiny", p => DPTConfig.Load(p).HiddenAct),
        ["dpt:readout_type"] = ("dpt_tiny", p => DPTConfig.Load(p).ReadoutType),
        ["depth_anything:depth_estimation_type"] = ("depth_anything_tiny_relative", p => DepthAnythingConfig.Load(p).DepthEstimationType),
        ["depth_anything:backbone_config.hidden_act"] = ("depth_anything_tiny_relative", p => DepthAnythingConfig.Load(p).BackboneModel.HiddenAct),
        ["depth_pro:image_model_config.hidden_act"] = ("depth_pro_tiny", p => DepthProConfig.Load(p).ImageModel.HiddenAct),
        ["zoedepth:hidden_act"] = ("zoedepth_tiny_nk", p => ZoeDepthConfig.Load(p).HiddenAct),
        ["zoedepth:readout_type"] = ("zoedepth_tiny_nk", p => ZoeDepthConfig.Load(p).ReadoutType),
        ["zoedepth:bin_centers_type"] = ("zoedepth_tiny_nk", p => ZoeDepthConfig.Load(p).BinCentersType),
        ["zoedepth:attractor_kind"] = ("zoedepth_tiny_nk", p => ZoeDepthConfig.Load(p).AttractorKind),
        ["zoedepth:backbone_config.hidden_act"] = ("zoedepth_tiny_nk", p => ZoeDepthConfig.Load(p).BeitBackbone.HiddenAct),
        ["dpt_hybrid:backbone_config.layer_type"] = ("dpt_hybrid_tiny", p => Assert.IsType<BitConfig>(DPTConfig.Load(p).BackboneModel).LayerType),
        ["dpt_hybrid:backbone_config.hidden_act"] = ("dpt_hybrid_tiny", p => Assert.IsType<BitConfig>(DPTConfig.Load(p).BackboneModel).HiddenAct),
        ["dpt_beit:backbone_config.hidden_act"] = ("dpt_beit_tiny", p => Assert.IsType<BeitConfig>(DPTConfig.Load(p).BackboneModel).HiddenAct),
        ["dpt_swinv2:backbone_config.hidden_act"] = ("dpt_swinv2_tiny", p => Assert.IsType<Swinv2Config>(DPTConfig.Load(p).BackboneModel).HiddenAct),
    };

    public static TheoryData<string, string, object> AllowedValues => new()
    {
        { "dpt:hidden_act", "gelu", HiddenAct.Gelu },
        { "dpt:hidden_act", "relu", HiddenAct.Relu },
        { "dpt:hidden_act", "silu", HiddenAct.Silu },
        { "dpt:hidden_act", "swish", HiddenAct.Silu },
        { "dpt:readout_type", "ignore", ReadoutType.Ignore },
        { "dpt:readout_type", "add", ReadoutType.Add },
        { "dpt:readout_type", "project", ReadoutType.Project },
        { "depth_anything:depth_estimation_type", "relative", DepthEstimationType.Relative },
        { "depth_anything:depth_estimation_type", "metric", DepthEstimationType.Metric },
        { "depth_anything:backbone_config.hidden_act", "relu", HiddenAct.Relu },
        { "depth_anything:backbone_config.hidden_act", "swish", HiddenAct.Silu },
        { "depth_pro:image_model_config.hidden_act", "silu", HiddenAct.Silu },
        { "zoedepth:hidden_act", "relu", HiddenAct.Relu },
        { "zoedepth:readout_type", "add", ReadoutType.Add },
        { "zoedepth:readout_type", "ignore", ReadoutType.Ignore },
        { "zoedepth:bin_centers_type", "normed", BinCentersType.Normed },
        { "zoedepth:bin_centers_type", "softplus", BinCentersType.Softplus },
        { "zoedepth:attractor_kind", "mean", AttractorKind.Mean },
        { "zoedepth:attractor_kind", "sum", AttractorKind.Sum },
        { "zoedepth:backbone_config.hidden_act", "gelu", HiddenAct.Gelu },
        { "dpt_hybrid:backbone_config.layer_type", "bottleneck", BitLayerType.Bottleneck },
        { "dpt_hybrid:backbone_config.layer_type", "preactivation", BitLayerType.Preactivation },
        { "dpt_hybrid:backbone_config.hidden_act", "gelu", HiddenAct.Gelu },
        { "dpt_beit:backbone_config.hidden_act", "relu", HiddenAct.Relu },
        { "dpt_swinv2:backbone_config.hidden_act", "swish", HiddenAct.Silu },
    };

    public static TheoryData<string, string, string> UnknownValues => new()
    {
        { "dpt:hidden_act", "\"tanh\"", "gelu, relu, silu, swish" },
        { "dpt:readout_type", "\"concat\"", "ignore, add, project" },
        { "dpt:readout_type", "1", "ignore, add, project" },
        { "depth_anything:depth_estimation_type", "\"absolute\"", "relative, metric" },
        { "depth_anything:depth_estimation_type", "null", "relative, metric" },
        { "depth_anything:backbone_config.hidden_act", "\"GELU\"", "gelu, relu, silu, swish" },
        { "depth_pro:image_model_config.hidden_act", "\"elu\"", "gelu, relu, silu, swish" },
        { "zoedepth:hidden_act", "\"quick_gelu\"", "gelu, relu, silu, swish" },
        { "zoedepth:bin_centers_type", "\"hybrid2\"", "normed, softplus" },
        { "zoedepth:attractor_kind", "\"max\"", "mean, sum" },
        { "zoedepth:backbone_config.hidden_act", "\"tanh\"", "gelu, relu, silu, swish" },
        { "dpt_hybrid:backbone_config.layer_type", "\"resnet\"", "preactivation, bottleneck" },
        { "dpt_hybrid:backbone_config.hidden_act", "\"leaky_relu\"", "gelu, relu, silu, swish" },
        { "dpt_swinv2:backbone_config.hidden_act", "\"tanh\"", "gelu, relu, silu, swish" },
    };

    /// <summary>The fixture's config.json with the field (a dotted path) set to <paramref name="json"/>.</summary>
    private string WriteConfig(string field, string json)
    {
        var (fixture, _) = Fields[field];
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", fixture, "config.json")))!.AsObject();
        var path = field[(field.IndexOf(':') + 1)..].Split('.');
        var parent = root;
        foreach (var part in path[..^1]) parent = parent[part]!.AsObject();
        parent[path[^1]] = JsonNode.Parse(json);
        string file = Path.Combine(_dir, "config.json");
        File.WriteAllText(file, root.ToJsonString());
        return file;
    }

    [Theory]
    [MemberData(nameof(AllowedValues))]
    public void EachAllowedSpellingBecomesItsEnum(string field, string spelling, object expected)
    {
        string file = WriteConfig(field, $"\"{spelling}\"");
        Assert.Equal(expected, Fields[field].Read(file));
    }

    [Theory]
    [MemberData(nameof(UnknownValues))]
    public void AnUnknownValueIsRefusedNamingFileFieldAndAllowedValues(string field, string json, string allowed)
    {
        string file = WriteConfig(field, json);
        var e = Assert.Throws<ConfigException>(() => Fields[field].Read(file));
        Assert.Equal(file, e.FileName);
        Assert.Contains(field[(field.IndexOf(':') + 1)..] + ":", e.Message);
        Assert.Contains(allowed, e.Message);
    }
}
