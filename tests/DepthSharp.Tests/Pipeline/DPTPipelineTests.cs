using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Tests.Processing;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Pipeline;

/// <summary>Picture file in, depth at the picture's size out, through the same path as the command line.</summary>
public class DPTPipelineTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("depth_anything_tiny_relative", "depth_anything", DepthKind.RelativeInverse)]
    [InlineData("depth_anything_tiny_metric", "depth_anything", DepthKind.Metric)]
    [InlineData("dpt_tiny", "dpt", DepthKind.RelativeInverse)]
    [InlineData("dpt_hybrid_tiny", "dpt", DepthKind.RelativeInverse)]
    [InlineData("dpt_beit_tiny", "dpt", DepthKind.RelativeInverse)]
    [InlineData("dpt_swinv2_tiny", "dpt", DepthKind.RelativeInverse)]
    public void EstimateMatchesTheReferencePipeline(string name, string modelType, DepthKind kind)
    {
        string dir = Fixtures.Path("models", name);
        var estimator = DepthEstimator.Load(dir);
        Assert.Equal(modelType, estimator.ModelType);
        var result = estimator.Estimate(ImageFile.Load(Path.Combine(dir, "image0.png")));
        Assert.Equal(kind, result.Kind);
        Assert.Null(result.FieldOfView);
        Assert.Equal(FocalLengthSource.None, result.FocalLengthSource);

        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), result.AsTensor());
        output.WriteLine($"{name} post.0.predicted_depth: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), result.AsTensor())}");
        int off = DPTProcessingTests.AssertGray8Close("pipeline.0.depth_u8", expected.Read("pipeline.0.depth_u8").Data, DepthRender.PipelineGray8(result.Depth));
        output.WriteLine($"{name} pipeline.0.depth_u8: {off} pixels off by one");
    }

    [Theory]
    [InlineData("depth_anything_tiny_relative", 70, 112)]
    [InlineData("dpt_tiny", 64, 64)]
    public void PreprocessGivesTheModelsInput(string name, int height, int width)
    {
        string dir = Fixtures.Path("models", name);
        var estimator = DepthEstimator.Load(dir);
        var image = ImageFile.Load(Path.Combine(dir, "image0.png")).Image;
        var pixels = estimator.Preprocess([image]);
        Assert.Equal([1, 3, height, width], pixels.Shape);
    }

    [Fact]
    public void RandomWeightsRunAtAnyPatchAlignedSize()
    {
        var estimator = DepthEstimator.LoadRandom(Fixtures.Path("models", "depth_anything_tiny_metric"));
        var input = new DepthSharp.Tensors.Tensor(new float[3 * 42 * 98], 1, 3, 42, 98);
        estimator.Forward(input);
        // DPT's neck takes the real grid, so non-square inputs run too (the reference's ViT path wants square ones).
        var dpt = DepthEstimator.LoadRandom(Fixtures.Path("models", "dpt_tiny"));
        dpt.Forward(new DepthSharp.Tensors.Tensor(new float[3 * 48 * 80], 1, 3, 48, 80));
    }
}

/// <summary>DPT with a DINOv2 backbone_config (the layout of facebook/dpt-dinov2-*): built from the backbone, not the ViT fields.</summary>
public sealed class DPTWithDinov2BackboneTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-dpt-dinov2-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void BuildsOnTheBackboneAndRuns()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), """
            {
              "model_type": "dpt",
              "backbone_config": {"model_type": "dinov2", "hidden_size": 32, "num_attention_heads": 2, "num_hidden_layers": 4,
                                  "image_size": 56, "patch_size": 14, "out_features": ["stage1", "stage2", "stage3", "stage4"],
                                  "reshape_hidden_states": false},
              "neck_hidden_sizes": [8, 16, 24, 32],
              "fusion_hidden_size": 256,
              "add_projection": true,
              "use_bias_in_fusion_residual": false,
              "backbone_out_indices": null
            }
            """);
        File.Copy(Fixtures.Path("models", "depth_anything_tiny_relative", "preprocessor_config.json"), Path.Combine(_dir, "preprocessor_config.json"));
        var recorder = new DepthSharp.Checkpoints.ShapeRecorder();
        var config = DepthSharp.Models.Configs.DPTConfig.Load(Path.Combine(_dir, "config.json"));
        _ = new DepthSharp.Models.DPTForDepthEstimation(new DepthSharp.Checkpoints.Weights(recorder), config);
        Assert.Contains("backbone.embeddings.mask_token", recorder.Shapes.Keys);
        Assert.Contains("backbone.layernorm.weight", recorder.Shapes.Keys);
        Assert.Equal([32, 64], recorder.Shapes["neck.reassemble_stage.readout_projects.0.0.weight"]);
        Assert.Equal([256, 256, 3, 3], recorder.Shapes["head.projection.weight"]);
        Assert.DoesNotContain("neck.fusion_stage.layers.0.residual_layer1.convolution1.bias", recorder.Shapes.Keys);
        Assert.DoesNotContain(recorder.Shapes.Keys, k => k.StartsWith("dpt.", StringComparison.Ordinal));

        var estimator = DepthEstimator.LoadRandom(_dir);
        var result = estimator.Estimate(new LoadedImage(new RgbImage(60, 40, new byte[60 * 40 * 3]), null, null));
        Assert.Equal(60 * 40, result.Depth.Length);
        Assert.All(result.Depth, v => Assert.True(float.IsFinite(v)));
    }
}
