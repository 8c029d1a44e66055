using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Models;

namespace DepthSharp.Tests.Pipeline;

public class ZoeDepthPipelineTests
{
    public static TheoryData<string> Cases => new() { "zoedepth_tiny_n_normed", "zoedepth_tiny_nk" };

    private static List<LoadedImage> Images(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement.GetProperty("images")
            .EnumerateArray().Select(e => ImageFile.Load(Path.Combine(dir, e.GetString()!))).ToList();

    /// <summary>The pipeline end to end (picture in, depth at the picture's size out) against post.*, post_flip.* and pipeline.*.</summary>
    [Theory]
    [MemberData(nameof(ZoeDepthModelTests.CasesOnBothKernels), MemberType = typeof(ZoeDepthModelTests))]
    public void EstimatorMatchesReference(string name, bool referenceKernels)
    {
        using var kernels = KernelOptions.UseReference(referenceKernels);
        string dir = Fixtures.Path("models", name);
        var images = Images(dir);
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        var plain = DepthEstimator.Load(dir).Estimate(images);
        var flipped = DepthEstimator.Load(dir, new DepthEstimatorOptions { FlipAverage = true }).Estimate(images);
        for (int i = 0; i < images.Count; i++)
        {
            Tolerance.AssertModelClose($"post.{i}.predicted_depth", expected.Read($"post.{i}.predicted_depth"), plain[i].AsTensor());
            Tolerance.AssertModelClose($"post_flip.{i}.predicted_depth", expected.Read($"post_flip.{i}.predicted_depth"), flipped[i].AsTensor());
            var u8 = DepthRender.PipelineGray8(plain[i].Depth);
            var expectedU8 = expected.Read($"pipeline.{i}.depth_u8").Data;
            int off = 0;
            for (int p = 0; p < u8.Length; p++)
            {
                int d = Math.Abs(u8[p] - (int)expectedU8[p]);
                Assert.True(d <= 1, $"pipeline.{i}.depth_u8: pixel {p} is {u8[p]}, expected {expectedU8[p]}");
                off += d;
            }
            Assert.True(off <= u8.Length * 0.005, $"pipeline.{i}.depth_u8: {off} pixels off by one");
        }
    }

    /// <summary>The estimator is the processor, the model and the post-processing, with and without the flipped pass.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void EstimatorComposesProcessorModelAndPostProcessing(string name)
    {
        string dir = Fixtures.Path("models", name);
        var images = Images(dir);
        var model = ZoeDepthModelTests.LoadModel(name);
        var processor = (ZoeDepthImageProcessor)ModelFamilies.LoadProcessor(Path.Combine(dir, "preprocessor_config.json"));
        var pixels = processor.Preprocess(images.Select(i => i.Image).ToList());
        var output = model.Forward(pixels);
        var flippedOutput = model.Forward(Ops.FlipLastDim(pixels));
        var sizes = images.Select(i => (i.Image.Height, i.Image.Width)).ToList();
        var plain = ZoeDepthPostProcessor.Process(output.PredictedDepth, sizes);
        var averaged = ZoeDepthPostProcessor.Process(output.PredictedDepth, sizes, flippedDepth: flippedOutput.PredictedDepth);

        foreach (bool flip in new[] { false, true })
        {
            var estimator = DepthEstimator.Load(dir, new DepthEstimatorOptions { FlipAverage = flip });
            Assert.Equal("zoedepth", estimator.ModelType);
            Assert.Equal((pixels.Dim(2), pixels.Dim(3)), estimator.InputSize(images[0].Image));
            var results = estimator.Estimate(images);
            for (int i = 0; i < images.Count; i++)
            {
                var r = results[i];
                Assert.Equal(DepthKind.Metric, r.Kind);
                Assert.Null(r.FocalLength);
                Assert.Equal(output.Domain, r.Domain);
                Assert.Equal((images[i].Image.Width, images[i].Image.Height), (r.Width, r.Height));
                Tolerance.AssertModelClose(flip ? "flip-averaged" : "plain", (flip ? averaged : plain)[i], r.AsTensor());
            }
        }
    }

    [Fact]
    public void RandomWeightsRunAtTheProcessorSize()
    {
        string dir = Fixtures.Path("models", "zoedepth_tiny_nk");
        var estimator = DepthEstimator.LoadRandom(dir);
        var pixels = estimator.Preprocess([new RgbImage(64, 64, new byte[64 * 64 * 3])]);
        Assert.Equal([1, 3, 64, 64], pixels.Shape);
        estimator.Forward(pixels);
    }
}
