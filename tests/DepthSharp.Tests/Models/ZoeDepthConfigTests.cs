using System.Text.Json;
using System.Text.Json.Nodes;
using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Pipeline;
using DepthSharp.Processing;

namespace DepthSharp.Tests.Models;

public sealed class ZoeDepthConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-zoe-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Writes the nyu-kitti fixture's config.json after an edit to its JSON tree.</summary>
    private string WriteConfig(Action<JsonObject> edit, string fixture = "zoedepth_tiny_nk")
    {
        var root = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", fixture, "config.json")))!.AsObject();
        edit(root);
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }

    [Fact]
    public void FixtureConfigsParseWithBackboneAndBins()
    {
        var nk = ZoeDepthConfig.Load(Fixtures.Path("models", "zoedepth_tiny_nk", "config.json"));
        Assert.True(nk.HasMultipleHeads);
        Assert.Equal(["nyu", "kitti"], nk.BinConfigurations.Select(b => b.Name));
        Assert.Equal(12, nk.BinConfigurations[1].Bins);
        Assert.Equal(80.0, nk.BinConfigurations[1].Max);
        Assert.Equal(32, nk.BeitBackbone.HiddenSize);
        Assert.Equal([1, 2, 3, 4], nk.BeitBackbone.OutStageIndices);
        Assert.True(nk.BeitBackbone.Extra!.ContainsKey("pool_scales"));
        var n = ZoeDepthConfig.Load(Fixtures.Path("models", "zoedepth_tiny_n_normed", "config.json"));
        Assert.False(n.HasMultipleHeads);
        Assert.Equal(BinCentersType.Normed, n.BinCentersType);
    }

    [Fact]
    public void MissingKeysTakeTheReferenceDefaults()
    {
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, """{"model_type": "zoedepth"}""");
        var c = ZoeDepthConfig.Load(path);
        Assert.Equal(1024, c.BeitBackbone.HiddenSize);
        Assert.Equal(24, c.BeitBackbone.NumHiddenLayers);
        Assert.Equal(384, c.BeitBackbone.ImageSize);
        Assert.True(c.BeitBackbone.UseRelativePositionBias);
        Assert.Equal([6, 12, 18, 24], c.BeitBackbone.OutStageIndices);
        Assert.Equal([96, 192, 384, 768], c.NeckHiddenSizes);
        Assert.Equal(BinCentersType.Softplus, c.BinCentersType);
        Assert.Equal(AttractorKind.Mean, c.AttractorKind);
        Assert.Equal(ReadoutType.Project, c.ReadoutType);
        Assert.Equal(64, Assert.Single(c.BinConfigurations).Bins);
        Assert.Null(c.BinConfigurations[0].Name);
    }

    public static TheoryData<string> Checkpoints => new() { "Intel--zoedepth-nyu", "Intel--zoedepth-kitti", "Intel--zoedepth-nyu-kitti" };

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void FullSizeModelsExpectExactlyTheReleasedTensors(string name)
    {
        string dir = Fixtures.Path("checkpoints", name);
        var config = ZoeDepthConfig.Load(Path.Combine(dir, "config.json"));
        var recorder = new ShapeRecorder();
        _ = new ZoeDepthForDepthEstimation(new Weights(recorder), config);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "weights.json")));
        var expected = doc.RootElement.GetProperty("tensors").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(d => d.GetInt32()).ToArray());
        var missing = expected.Keys.Except(recorder.Shapes.Keys).Order().ToList();
        var extra = recorder.Shapes.Keys.Except(expected.Keys).Order().ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"not built: {string.Join(", ", missing.Take(10))}; not in checkpoint: {string.Join(", ", extra.Take(10))}");
        foreach (var (tensor, shape) in expected)
            Assert.True(shape.SequenceEqual(recorder.Shapes[tensor]), $"{tensor}: built [{string.Join(", ", recorder.Shapes[tensor])}], checkpoint [{string.Join(", ", shape)}]");
        long parameters = recorder.Shapes.Values.Sum(s => s.Aggregate(1L, (a, d) => a * d));
        Assert.Equal(doc.RootElement.GetProperty("parameters").GetInt64(), parameters);
    }

    [Fact]
    public void CheckpointProcessorConfigsLoad()
    {
        foreach (var name in new[] { "Intel--zoedepth-nyu", "Intel--zoedepth-kitti", "Intel--zoedepth-nyu-kitti" })
        {
            var p = Assert.IsType<ZoeDepthImageProcessor>(ModelFamilies.LoadProcessor(Fixtures.Path("checkpoints", name, "preprocessor_config.json")));
            Assert.Equal((384, 512), p.OutputSize(480, 640));
        }
    }

    public static TheoryData<string, string> BadConfigs => new()
    {
        { """{"bin_configurations": [{"name": "nyu", "n_bins": 0, "min_depth": 0.001, "max_depth": 10}, {"name": "kitti", "n_bins": 12, "min_depth": 0.001, "max_depth": 80}]}""", "bin_configurations[0].n_bins" },
        { """{"bin_configurations": [{"name": "nyu", "n_bins": 10, "min_depth": 0.001, "max_depth": 10}, {"name": "kitti", "n_bins": 12, "min_depth": 5, "max_depth": 5}]}""", "bin_configurations[1].max_depth" },
        { """{"bin_configurations": [{"name": "nyu", "n_bins": 10, "min_depth": 0.001, "max_depth": 10}, {"n_bins": 12, "min_depth": 0.001, "max_depth": 80}]}""", "bin_configurations[1].name" },
        { """{"bin_configurations": [{"name": "nyu", "n_bins": 10, "min_depth": 0.001, "max_depth": 10}, {"name": "nyu", "n_bins": 12, "min_depth": 0.001, "max_depth": 80}]}""", "bin_configurations[1].name" },
        { """{"bin_configurations": [{"name": "n.yu", "n_bins": 10, "min_depth": 0.001, "max_depth": 10}, {"name": "kitti", "n_bins": 12, "min_depth": 0.001, "max_depth": 80}]}""", "bin_configurations[0].name" },
        { """{"bin_configurations": [{"name": "nyu", "min_depth": 0.001, "max_depth": 10}]}""", "bin_configurations[0].n_bins" },
        { """{"bin_configurations": [{"name": "nyu", "n_bins": 10, "max_depth": 10}]}""", "bin_configurations[0].min_depth" },
        { """{"bin_configurations": []}""", "bin_configurations" },
        { """{"bin_configurations": "nyu"}""", "bin_configurations" },
        { """{"bin_configurations": [{"name": "nyu", "n_bins": "ten", "min_depth": 0.001, "max_depth": 10}]}""", "n_bins" },
        { """{"bin_centers_type": "hybrid2"}""", "bin_centers_type" },
        { """{"attractor_kind": "max"}""", "attractor_kind" },
        { """{"readout_type": "concat"}""", "readout_type" },
        { """{"patch_transformer_hidden_size": 64}""", "patch_transformer_hidden_size" },
        { """{"num_patch_transformer_layers": 3}""", "num_patch_transformer_layers" },
        { """{"num_patch_transformer_layers": null}""", "num_patch_transformer_layers" },
        { """{"num_patch_transformer_layers": 2147483647}""", "num_patch_transformer_layers" },
        { """{"patch_transformer_num_attention_heads": 3}""", "patch_transformer_num_attention_heads" },
        { """{"reassemble_factors": [4, 2.5, 1, 0.5]}""", "reassemble_factors" },
        { """{"reassemble_factors": [4, 2, 1]}""", "reassemble_factors" },
        { """{"neck_hidden_sizes": [8, 16, 24]}""", "reassemble_factors" },
        { """{"bottleneck_features": 32}""", "bottleneck_features" },
        { """{"head_in_index": 4}""", "head_in_index" },
        { """{"num_attractors": []}""", "num_attractors" },
        { """{"hidden_act": "tanh"}""", "hidden_act" },
        { """{"backbone": "microsoft/beit-large", "backbone_config": null}""", "backbone" },
        { """{"use_pretrained_backbone": true}""", "use_pretrained_backbone" },
        { """{"backbone_config": {"model_type": "dinov2"}}""", "backbone_config.model_type" },
        { """{"backbone_config": {"model_type": "beit", "hidden_size": 32, "num_attention_heads": 5, "reshape_hidden_states": false, "out_indices": [1, 2, 3, 4]}}""", "backbone_config.num_attention_heads" },
        { """{"backbone_config": {"model_type": "beit", "out_features": ["stage1", "stage2", "stage3", "stage99"], "reshape_hidden_states": false}}""", "backbone_config.out_features" },
        { """{"backbone_config": {"model_type": "beit", "out_indices": [3, 2, 1, 4], "reshape_hidden_states": false}}""", "backbone_config.out_indices" },
        { """{"backbone_config": {"model_type": "beit", "out_indices": [1, 2, 3, 4]}}""", "backbone_config.reshape_hidden_states" },
        { """{"backbone_config": {"model_type": "beit", "out_indices": [1, 2, 3], "reshape_hidden_states": false}}""", "backbone_config.out_features" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void ImpossibleValuesAreRefusedWithTheField(string patch, string field)
    {
        string path = WriteConfig(root =>
        {
            foreach (var (key, value) in JsonNode.Parse(patch)!.AsObject()) root[key] = value?.DeepClone();
        });
        var e = Assert.Throws<ConfigException>(() => ZoeDepthConfig.Load(path));
        Assert.Contains("config.json", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void SingleHeadNeedsFourAttractorStagesButNoNames()
    {
        string ok = WriteConfig(root => ((JsonObject)root["bin_configurations"]![0]!).Remove("name"), "zoedepth_tiny_n_normed");
        Assert.Null(ZoeDepthConfig.Load(ok).BinConfigurations[0].Name);
        string bad = WriteConfig(root => root["num_attractors"] = new JsonArray(6, 4, 3), "zoedepth_tiny_n_normed");
        Assert.Contains("num_attractors", Assert.Throws<ConfigException>(() => ZoeDepthConfig.Load(bad)).Message);
    }

    [Fact]
    public void LoadingRefusesAFolderThatDoesNotFitAndNamesTheProblem()
    {
        string src = Fixtures.Path("models", "zoedepth_tiny_nk");
        File.Copy(Path.Combine(src, "model.safetensors"), Path.Combine(_dir, "model.safetensors"));
        File.Copy(Path.Combine(src, "preprocessor_config.json"), Path.Combine(_dir, "preprocessor_config.json"));

        // One more head than the checkpoint has: every missing tensor is named.
        WriteConfig(root => ((JsonArray)root["bin_configurations"]!).Add(JsonNode.Parse("""{"name": "sun", "n_bins": 4, "min_depth": 0.1, "max_depth": 5}""")));
        var missing = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(_dir));
        Assert.Contains("metric_head.seed_bin_regressors.sun.conv1.weight", missing.Message);

        // A single head built from a two-head checkpoint: the router and the other head are unused tensors.
        WriteConfig(root => ((JsonArray)root["bin_configurations"]!).RemoveAt(1));
        var unused = Assert.Throws<CheckpointException>(() => DepthEstimator.Load(_dir));
        Assert.Contains("unused tensor 'metric_head.patch_transformer", unused.Message);

        // Another family's processor.
        WriteConfig(_ => { });
        File.Copy(Fixtures.Path("models", "depth_pro_tiny", "preprocessor_config.json"), Path.Combine(_dir, "preprocessor_config.json"), overwrite: true);
        var processor = Assert.Throws<ConfigException>(() => DepthEstimator.Load(_dir));
        Assert.Contains("preprocessor_config.json", processor.Message);
        Assert.Contains("image_processor_type", processor.Message);
    }

    [Fact]
    public void ProcessorConfigValuesAreChecked()
    {
        string path = Path.Combine(_dir, "preprocessor_config.json");
        File.WriteAllText(path, """{"image_processor_type": "ZoeDepthImageProcessor", "ensure_multiple_of": 0}""");
        Assert.Contains("ensure_multiple_of", Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(path)).Message);
        File.WriteAllText(path, """{"image_processor_type": "ZoeDepthImageProcessor", "keep_aspect_ratio": "yes"}""");
        Assert.Contains("keep_aspect_ratio", Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(path)).Message);
        File.WriteAllText(path, """{"image_processor_type": "ZoeDepthImageProcessor", "resample": 0}""");
        Assert.Contains("resample", Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(path)).Message);
    }
}

/// <summary>Configurations the fixtures do not cover still build the reference's parameters and run.</summary>
public sealed class ZoeDepthVariantTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-zoe-variant-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, string[], string[]> Variants => new()
    {
        { """{"readout_type": "ignore"}""", [], ["neck.reassemble_stage.readout_projects.0.0.weight"] },
        { """{"readout_type": "add"}""", [], ["neck.reassemble_stage.readout_projects.0.0.weight"] },
        { """{"attractor_kind": "sum", "bin_centers_type": "normed"}""", ["metric_head.attractors.kitti.0.conv2.weight"], [] },
        { """{"use_batch_norm_in_fusion_residual": true}""", ["neck.fusion_stage.layers.0.residual_layer1.batch_norm1.running_var"], ["neck.fusion_stage.layers.0.residual_layer1.convolution1.bias"] },
        { """{"add_projection": true, "fusion_hidden_size": 256, "bottleneck_features": 256}""", ["relative_head.projection.weight"], [] },
        { """{"num_patch_transformer_layers": 5}""", ["metric_head.patch_transformer.transformer_encoder.4.linear1.weight"], [] },
        { """{"backbone_config": {"model_type": "beit", "hidden_size": 32, "num_attention_heads": 4, "intermediate_size": 40, "num_hidden_layers": 3, "image_size": 32, "patch_size": 8, "reshape_hidden_states": false, "out_indices": [0, 1, 2, 3], "use_relative_position_bias": false, "use_shared_relative_position_bias": true, "use_absolute_position_embeddings": true, "use_mask_token": true, "layer_scale_init_value": 0}}""",
            ["backbone.encoder.relative_position_bias.relative_position_bias_table", "backbone.embeddings.position_embeddings", "backbone.embeddings.mask_token"],
            ["backbone.encoder.layer.0.lambda_1", "backbone.encoder.layer.0.attention.attention.relative_position_bias.relative_position_bias_table"] },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void VariantBuildsAndRuns(string patch, string[] present, string[] absent)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", "zoedepth_tiny_nk", "config.json")))!.AsObject();
        foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse(patch)!.AsObject()) root[key] = value?.DeepClone();
        string path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, root.ToJsonString());
        var config = ZoeDepthConfig.Load(path);

        var recorder = new ShapeRecorder();
        _ = new ZoeDepthForDepthEstimation(new Weights(recorder), config);
        foreach (var name in present) Assert.Contains(name, recorder.Shapes.Keys);
        foreach (var name in absent) Assert.DoesNotContain(name, recorder.Shapes.Keys);

        var model = new ZoeDepthForDepthEstimation(new Weights(new RandomWeights(3)), config);
        // An odd patch grid (5x7) exercises the resized skip maps and a relative position window unlike the table's.
        var pixels = new Tensors.Tensor(new float[2 * 3 * 40 * 56], 2, 3, 40, 56);
        var rng = new Random(5);
        for (int i = 0; i < pixels.Data.Length; i++) pixels.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        var output = model.Forward(pixels);
        Assert.Equal(2, output.PredictedDepth.Dim(0));
        Assert.All(output.PredictedDepth.Data, v => Assert.True(float.IsFinite(v)));
        Assert.Contains(output.Domain, config.BinConfigurations.Select(b => b.Name));
    }
}
