using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using DepthSharp.Tests.Processing;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Pipeline;

/// <summary>Prompt Depth Anything through the registry and the front door: a picture and its prompt in, metric depth out.</summary>
public class PromptDepthAnythingPipelineTests(ITestOutputHelper output)
{
    private static string Dir => Fixtures.Path("models", "prompt_depth_anything_tiny");
    private static string PicturePath => Path.Combine(Dir, "image0.png");
    private static Tensor RawPrompt() => PromptDepthFile.Read(Path.Combine(Dir, "prompt_depth0.npy"));

    private void AssertMatchesReference(DepthResult result)
    {
        Assert.Equal(DepthKind.Metric, result.Kind);
        Assert.Equal(DepthColoring.Linear, result.Coloring);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), result.AsTensor());
        output.WriteLine($"post.0.predicted_depth: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), result.AsTensor())}");
        int off = DPTProcessingTests.AssertGray8Close("pipeline.0.depth_u8", expected.Read("pipeline.0.depth_u8").Data, DepthRender.PipelineGray8(result.Depth));
        output.WriteLine($"pipeline.0.depth_u8: {off} pixels off by one");
    }

    [Fact]
    public void TheRegistryResolvesTheFamilyAsTakingARequiredPrompt()
    {
        var family = ModelFamilies.ForFolder(Dir);
        Assert.Equal("prompt_depth_anything", family.ModelType);
        Assert.Equal(new ExtraInputSpec("prompt depth", Required: true), family.ExtraInput);
        Assert.Contains("PromptDepthAnythingImageProcessor", family.ImageProcessorTypes);
    }

    [Fact]
    public async Task PictureAndPromptFilesGiveTheReferencesDepth()
    {
        var pipeline = await DepthPipeline.CreateAsync(Dir);
        Assert.Equal("prompt_depth_anything", pipeline.ModelType);
        var estimate = pipeline.Estimate(PicturePath, RawPrompt());
        Assert.Equal(PicturePath, estimate.FileName);
        AssertMatchesReference(estimate.Depth);

        // The asynchronous and in-memory doors give the same bits.
        Assert.Equal(estimate.Depth.Depth, (await pipeline.EstimateAsync(PicturePath, RawPrompt())).Depth.Depth);
        var picture = ImageFile.Load(PicturePath).Image;
        Assert.Equal(estimate.Depth.Depth, pipeline.Estimate(picture, RawPrompt()).Depth.Depth);
        Assert.Equal(estimate.Depth.Depth, (await pipeline.EstimateAsync(picture, RawPrompt())).Depth.Depth);
    }

    [Fact]
    public void TheEstimatorTakesThePromptAsThePicturesExtraInput()
    {
        var estimator = DepthEstimator.Load(Dir);
        var result = estimator.Estimate([new DepthInput(ImageFile.Load(PicturePath), RawPrompt())])[0];
        AssertMatchesReference(result);
    }

    [Fact]
    public void TheFastProcessorFeedsTheModelWithThePromptScaledAsBefore()
    {
        var estimator = DepthEstimator.Load(Dir, new DepthEstimatorOptions { ImageProcessor = ImageProcessorKind.Fast });
        Assert.IsType<PromptDepthAnythingImageProcessorFast>(estimator.Processor);
        var picture = ImageFile.Load(PicturePath);
        var fast = estimator.Estimate([new DepthInput(picture, RawPrompt())])[0];
        var slow = DepthEstimator.Load(Dir).Estimate([new DepthInput(picture, RawPrompt())])[0];
        Assert.Equal(DepthKind.Metric, fast.Kind);
        Assert.All(fast.Depth, v => Assert.True(float.IsFinite(v)));
        // torchvision's resize moves some pixel values by one 8-bit step, so the depth moves too, but only a little.
        Assert.NotEqual(slow.Depth, fast.Depth);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        output.WriteLine($"fast processor against the slow reference: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), fast.AsTensor())}");
    }

    [Fact]
    public async Task WithoutAPromptTheFamilyRefusesSayingSo()
    {
        var pipeline = await DepthPipeline.CreateAsync(Dir);
        var e = Assert.Throws<ArgumentException>(() => pipeline.Estimate(PicturePath));
        Assert.Contains("prompt_depth_anything models need a prompt depth with every picture", e.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => pipeline.EstimateAsync(PicturePath));
        // In a batch, one picture without its prompt is enough to refuse.
        var image = ImageFile.Load(PicturePath);
        Assert.Throws<ArgumentException>(() => pipeline.Estimator.Estimate([new DepthInput(image, RawPrompt()), new DepthInput(image)]));
    }

    [Theory]
    [InlineData("depth_anything_tiny_relative", "depth_anything")]
    [InlineData("dpt_tiny", "dpt")]
    [InlineData("zoedepth_tiny_nk", "zoedepth")]
    public async Task APromptForAFamilyThatTakesNoneIsRefused(string model, string modelType)
    {
        var pipeline = await DepthPipeline.CreateAsync(Fixtures.Path("models", model));
        var e = Assert.Throws<ArgumentException>(() => pipeline.Estimate(Path.Combine(Fixtures.Path("models", model), "image0.png"), RawPrompt()));
        Assert.Contains($"{modelType} models take no input besides the picture", e.Message);
        Assert.Contains("a prompt depth goes with prompt_depth_anything models", e.Message);
        var pixels = new Tensor(new float[3 * 28 * 28], 1, 3, 28, 28);
        Assert.Throws<ArgumentException>(() => pipeline.Estimator.Forward(pixels, [RawPrompt()]));
    }

    [Fact]
    public void APromptTheModelCannotUseIsRefusedByName()
    {
        var estimator = DepthEstimator.Load(Dir);
        var constant = new Tensor(Enumerable.Repeat(1500f, 24 * 32).ToArray(), 24, 32);
        var e = Assert.Throws<PromptDepthException>(() => estimator.Estimate([new DepthInput(ImageFile.Load(PicturePath), constant)]));
        Assert.Contains("constant", e.Message);
        var notAMap = new Tensor(new float[2 * 24 * 32], 2, 24, 32);
        Assert.Throws<PromptDepthException>(() => estimator.Estimate([new DepthInput(ImageFile.Load(PicturePath), notAMap)]));
    }

    [Fact]
    public void ForwardWithThePromptGivesTheReferencesPredictedDepth()
    {
        // What `bench --prompt-size` times: the forward pass on pixel values and the raw prompt, before post-processing.
        var estimator = DepthEstimator.Load(Dir);
        var pixels = estimator.Preprocess([ImageFile.Load(PicturePath).Image]);
        var depth = estimator.Forward(pixels, [RawPrompt()]);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        Tolerance.AssertModelClose("predicted_depth", expected.Read("predicted_depth"), depth);
        // Without one, the bare network as the reference runs it with prompt_depth=None.
        Tolerance.AssertModelClose("no_prompt.predicted_depth", expected.Read("no_prompt.predicted_depth"), estimator.Forward(pixels));
    }
}
