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
    [InlineData("depth_anything_tiny_relative", "depth_anything", false)]
    [InlineData("depth_anything_tiny_metric", "depth_anything", true)]
    [InlineData("dpt_tiny", "dpt", false)]
    public void EstimateMatchesTheReferencePipeline(string name, string modelType, bool metric)
    {
        string dir = Fixtures.Path("models", name);
        var estimator = DepthEstimator.Load(dir);
        Assert.Equal(modelType, estimator.ModelType);
        var result = estimator.Estimate(ImageFile.Load(Path.Combine(dir, "image0.png")));
        Assert.Equal(metric, result.IsMetric);
        Assert.Equal(!metric, result.IsInverseDepth);
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
        var pixels = estimator.Backend.Preprocess([image]);
        Assert.Equal([1, 3, height, width], pixels.Shape);
    }

    [Fact]
    public void RandomWeightsRunAtAnyPatchAlignedSize()
    {
        var estimator = DepthEstimator.LoadRandom(Fixtures.Path("models", "depth_anything_tiny_metric"));
        var input = new DepthSharp.Tensors.Tensor(new float[3 * 42 * 98], 1, 3, 42, 98);
        estimator.Backend.Forward(input, null, CancellationToken.None);
        // DPT's neck takes the real grid, so non-square inputs run too (the reference's ViT path wants square ones).
        var dpt = DepthEstimator.LoadRandom(Fixtures.Path("models", "dpt_tiny"));
        dpt.Backend.Forward(new DepthSharp.Tensors.Tensor(new float[3 * 48 * 80], 1, 3, 48, 80), null, CancellationToken.None);
    }
}
