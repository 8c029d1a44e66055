using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Processing;

public class ZoeDepthProcessingTests
{
    public static TheoryData<string> ModelCases => new() { "zoedepth_tiny_n_normed", "zoedepth_tiny_nk" };

    private static string[] Images(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement.GetProperty("images")
            .EnumerateArray().Select(e => Path.Combine(dir, e.GetString()!)).ToArray();

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void PixelValuesMatchReference(string name)
    {
        string dir = Fixtures.Path("models", name);
        var processor = ModelFamilies.LoadProcessor(Path.Combine(dir, "preprocessor_config.json"));
        Assert.IsType<ZoeDepthImageProcessor>(processor);
        var images = Images(dir).Select(p => ImageFile.Load(p).Image).ToList();
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        Tolerance.AssertPixelValuesClose("pixel_values", expected.Read("pixel_values"), processor.Preprocess(images));
    }

    [Theory]
    [InlineData("zoedepth_default")]
    [InlineData("zoedepth_nopad_nokeep")]
    public void ProcessorFixturesMatchReference(string processorName)
    {
        var processor = (ZoeDepthImageProcessor)ModelFamilies.LoadProcessor(Fixtures.Path("processors", "processors", processorName, "preprocessor_config.json"));
        using var expected = SafeTensorsFile.Open(Fixtures.Path("processors", "expected.safetensors"));
        for (int i = 0; i < 3; i++)
        {
            var image = ImageFile.Load(Fixtures.Path("processors", $"image{i}.png")).Image;
            var actual = processor.Preprocess([image]);
            Assert.Equal(processor.OutputSize(image.Height, image.Width), (actual.Dim(2), actual.Dim(3)));
            string key = $"{processorName}.{i}.pixel_values";
            Tolerance.AssertPixelValuesClose(key, expected.Read(key), actual.Reshape(3, actual.Dim(2), actual.Dim(3)));
        }
    }

    [Theory]
    [InlineData(75, 113, 18, 22)]
    [InlineData(400, 600, 42, 51)]
    [InlineData(1, 1, 2, 2)]
    public void PaddingIsThreeRootHalfTheSide(int h, int w, int rows, int columns) =>
        Assert.Equal((rows, columns), ZoeDepthImageProcessor.Padding(h, w));

    [Fact]
    public void PaddingWiderThanThePictureKeepsMirroring()
    {
        // A 2x3 picture pads by 3 rows and 3 columns: more than the picture has, which numpy's reflect mode keeps folding.
        var pixels = new byte[2 * 3 * 3];
        for (int i = 0; i < 6; i++) pixels[i * 3] = (byte)(10 * (i + 1));
        var config = new ImageProcessorConfig { DoResize = false, DoNormalize = false, DoRescale = false, ImageProcessorType = "ZoeDepthImageProcessor" };
        var x = new ZoeDepthImageProcessor(config).Preprocess([new RgbImage(3, 2, pixels)]);
        Assert.Equal([1, 3, 8, 9], x.Shape);
        // Columns reflect with period 4 (0 1 2 1 0 1 2 ...), rows with period 2; row -3 is source row 1.
        float[] firstRow = [20, 30, 20, 10, 20, 30, 20, 10, 20];
        Assert.Equal(firstRow.Select(v => v + 30f), x.Data.AsSpan(0, 9).ToArray());
        Assert.Equal(firstRow, x.Data.AsSpan(9, 9).ToArray());
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void PostProcessingMatchesReference(string name)
    {
        string dir = Fixtures.Path("models", name);
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        var images = Images(dir).Select(p => ImageFile.Load(p).Image).ToList();
        var sizes = images.Select(i => (i.Height, i.Width)).ToList();
        var depth = expected.Read("predicted_depth");
        var post = ZoeDepthPostProcessor.Process(depth, sizes);
        var postFlip = ZoeDepthPostProcessor.Process(depth, sizes, flippedDepth: expected.Read("flipped.predicted_depth"));
        for (int i = 0; i < images.Count; i++)
        {
            Tolerance.AssertModelClose($"post.{i}.predicted_depth", expected.Read($"post.{i}.predicted_depth"), post[i]);
            Tolerance.AssertModelClose($"post_flip.{i}.predicted_depth", expected.Read($"post_flip.{i}.predicted_depth"), postFlip[i]);
            var u8 = DepthRender.PipelineGray8(post[i].Data);
            var expectedU8 = expected.Read($"pipeline.{i}.depth_u8").Data;
            int offByOne = 0;
            for (int p = 0; p < u8.Length; p++)
            {
                int d = Math.Abs(u8[p] - (int)expectedU8[p]);
                Assert.True(d <= 1, $"pipeline.{i}.depth_u8: pixel {p} is {u8[p]}, expected {expectedU8[p]}");
                offByOne += d;
            }
            Assert.True(offByOne <= u8.Length * 0.005, $"pipeline.{i}.depth_u8: {offByOne} pixels off by one");
        }
    }

    [Fact]
    public void PostProcessingResizesToTargetSizesAndKeepsPaddingWhenAsked()
    {
        var depth = new Tensor(Enumerable.Range(0, 2 * 8 * 12).Select(i => (float)i).ToArray(), 2, 8, 12);
        var kept = ZoeDepthPostProcessor.Process(depth, null, [(5, 7), (16, 24)], removePadding: false);
        Assert.Equal([5, 7], kept[0].Shape);
        Assert.Equal([16, 24], kept[1].Shape);
        var cropped = ZoeDepthPostProcessor.Process(depth, [(20, 30), (4, 4)], [(10, 15), (3, 3)]);
        Assert.Equal([10, 15], cropped[0].Shape);
        Assert.Equal([3, 3], cropped[1].Shape);
        Assert.Throws<ArgumentException>(() => ZoeDepthPostProcessor.Process(depth, null));
        Assert.Throws<ArgumentException>(() => ZoeDepthPostProcessor.Process(depth, [(4, 4)]));
        Assert.Throws<ArgumentException>(() => ZoeDepthPostProcessor.Process(depth, [(4, 4), (4, 4)], flippedDepth: Tensor.Zeros(1, 8, 12)));
    }

    [Fact]
    public void FlipAveragingOfASymmetricPairIsTheOriginal()
    {
        var depth = new Tensor(Enumerable.Range(0, 6 * 10).Select(i => (float)(i % 10)).ToArray(), 1, 6, 10);
        var averaged = ZoeDepthPostProcessor.Process(depth, null, flippedDepth: Ops.FlipLastDim(depth), removePadding: false);
        Assert.Equal(depth.Data, averaged[0].Data);
    }
}
