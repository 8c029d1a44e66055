using System.Text.Json.Nodes;
using DepthSharp.Models.Configs;

namespace DepthSharp.Tests.Models;

/// <summary>DPT's other backbones (hybrid BiT, BEiT, Swin V2) in DPTConfig: each typed by model_type, bad values refused by field.</summary>
public sealed class DPTBackboneConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-dpt-backbone-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The fixture's config.json with <paramref name="edit"/> applied to its JSON (root object).</summary>
    private string WriteEdited(string fixture, Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", fixture, "config.json")))!.AsObject();
        edit(root);
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }

    private static JsonObject Backbone(JsonObject root) => root["backbone_config"]!.AsObject();

    [Theory]
    [InlineData("dpt_hybrid_tiny", typeof(BitConfig))]
    [InlineData("dpt_beit_tiny", typeof(BeitConfig))]
    [InlineData("dpt_swinv2_tiny", typeof(Swinv2Config))]
    public void TheBackboneConfigIsTypedByItsModel(string fixture, Type expected) =>
        Assert.IsType(expected, DPTConfig.Load(Fixtures.Path("models", fixture, "config.json")).BackboneModel);

    [Fact]
    public void TheHybridTakesTheBiTMapsThenTheLayersOfBackboneOutIndicesFromTheThird()
    {
        var c = DPTConfig.Load(Fixtures.Path("models", "dpt_hybrid_tiny", "config.json"));
        Assert.True(c.IsHybrid);
        // backbone_out_indices [0, 1, 2, 4]: the first two places are the BiT's maps, so layers 2 and 4.
        Assert.Equal([2, 4], c.SelectedLayers);
        Assert.Equal(c.HiddenSize, c.BackboneHiddenSize);
    }

    [Fact]
    public void ABackboneThatReplacesTheViTIgnoresTheViTsOutIndicesAndFeatmap()
    {
        var c = DPTConfig.Load(WriteEdited("dpt_beit_tiny", root => root["backbone_out_indices"] = new JsonArray(0, 1)));
        Assert.Equal(32, c.BackboneHiddenSize);
        Assert.Equal([1, 2, 3, 4], Assert.IsType<BeitConfig>(c.BackboneModel).OutStageIndices);
    }

    public static TheoryData<string, string, string> BadConfigs() => new()
    {
        // fixture, edits, the field the refusal must name
        { "dpt_hybrid_tiny", "readout_type=ignore", "readout_type" },
        { "dpt_hybrid_tiny", "backbone_featmap_shape=[1,30,4,4]", "backbone_featmap_shape" },
        { "dpt_hybrid_tiny", "backbone_featmap_shape=null", "backbone_featmap_shape" },
        { "dpt_hybrid_tiny", "neck_ignore_stages=[0]", "neck_ignore_stages" },
        { "dpt_hybrid_tiny", "neck_ignore_stages=[0,1,2]", "neck_ignore_stages" },
        { "dpt_hybrid_tiny", "neck_hidden_sizes=[12,24,32,40]", "neck_hidden_sizes" },
        { "dpt_hybrid_tiny", "backbone_out_indices=[0,1,2]", "backbone_out_indices" },
        { "dpt_hybrid_tiny", "patch_size=8", "patch_size" },
        { "dpt_hybrid_tiny", "backbone_config.layer_type=resnet", "backbone_config.layer_type" },
        { "dpt_hybrid_tiny", "backbone_config.global_padding=CIRCULAR", "backbone_config.global_padding" },
        { "dpt_hybrid_tiny", "backbone_config.num_groups=5", "backbone_config.num_groups" },
        { "dpt_hybrid_tiny", "backbone_config.depths=[1,0,1]", "backbone_config.depths" },
        { "dpt_hybrid_tiny", "backbone_config.model_type=resnet", "backbone_config.model_type" },
        { "dpt_hybrid_tiny", "backbone_config.out_features=[\"stem\",\"stage1\",\"stage2\",\"stage3\"];backbone_config.out_indices=null", "backbone_config.out_features" },
        { "dpt_hybrid_tiny", "backbone_config=7", "backbone_config" },
        { "dpt_beit_tiny", "backbone_config.model_type=vit", "backbone_config.model_type" },
        { "dpt_beit_tiny", "backbone_config.model_type=bit", "backbone_config.model_type" },
        { "dpt_beit_tiny", "backbone_config.model_type=null", "backbone_config.model_type" },
        { "dpt_beit_tiny", "backbone_config.reshape_hidden_states=true", "backbone_config.reshape_hidden_states" },
        { "dpt_beit_tiny", "backbone_config.add_fpn=true", "backbone_config.add_fpn" },
        { "dpt_beit_tiny", "backbone_config.hidden_act=tanh", "backbone_config.hidden_act" },
        { "dpt_beit_tiny", "backbone_config.num_attention_heads=5", "backbone_config.num_attention_heads" },
        { "dpt_beit_tiny", "backbone_config.out_indices=[1,2,3]", "backbone_config.out_indices" },
        { "dpt_beit_tiny", "neck_hidden_sizes=[8,16,24]", "neck_hidden_sizes" },
        { "dpt_swinv2_tiny", "neck_hidden_sizes=[16,24,48,96]", "neck_hidden_sizes" },
        { "dpt_swinv2_tiny", "backbone_config.window_size=0", "backbone_config.window_size" },
        { "dpt_swinv2_tiny", "backbone_config.num_heads=[1,2,4]", "backbone_config.num_heads" },
        { "dpt_swinv2_tiny", "backbone_config.embed_dim=\"wide\"", "backbone_config.embed_dim" },
        { "dpt_swinv2_tiny", "backbone=\"microsoft/swinv2-tiny-patch4-window8-256\"", "backbone" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void ImpossibleValuesAreRefusedWithTheField(string fixture, string edits, string field)
    {
        string path = WriteEdited(fixture, root =>
        {
            // key=value pairs separated by ';': a JSON value, or a bare word as a string.
            foreach (string edit in edits.Split(';'))
            {
                int eq = edit.IndexOf('=');
                string key = edit[..eq], value = edit[(eq + 1)..];
                var node = value.StartsWith('[') || value.StartsWith('"') || value is "null" or "true" or "false" || char.IsDigit(value[0])
                    ? JsonNode.Parse(value) : JsonValue.Create(value);
                if (key.StartsWith("backbone_config.", StringComparison.Ordinal)) Backbone(root)[key["backbone_config.".Length..]] = node;
                else root[key] = node;
            }
        });
        var e = Assert.Throws<ConfigException>(() => DPTConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }

    [Fact]
    public void AnUnknownBackboneIsRefusedWithTheOnesThatAreSupported()
    {
        string path = WriteEdited("dpt_beit_tiny", root => Backbone(root)["model_type"] = "convnext");
        var e = Assert.Throws<ConfigException>(() => DPTConfig.Load(path));
        Assert.Contains("backbone_config.model_type: 'convnext' is not a backbone DPT can use", e.Message);
        Assert.Contains("beit, dinov2, swinv2", e.Message);
    }
}
