using DepthSharp.Pipeline;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Processing;
using DepthSharp.Tensors;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Processing;

/// <summary>PromptDepthAnythingImageProcessor against the tiny fixture: pixel values, the prompt, post-processing, end to end.</summary>
public class PromptDepthAnythingProcessingTests(ITestOutputHelper output)
{
    private static string Dir => Fixtures.Path("models", "prompt_depth_anything_tiny");

    private static PromptDepthAnythingImageProcessor Processor() =>
        Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(Path.Combine(Dir, "preprocessor_config.json")));

    private static RgbImage Picture() => ImageFile.Load(Path.Combine(Dir, "image0.png")).Image;

    private static Tensor RawPrompt() => PromptDepthFile.Read(Path.Combine(Dir, "prompt_depth0.npy"));

    /// <summary>case.json's rule for the prompt: every value within 1e-6 of the expected one, relatively.</summary>
    private static void AssertPromptClose(Tensor expected, Tensor actual)
    {
        Tolerance.AssertShape("prompt_depth", expected, actual);
        for (int i = 0; i < expected.Data.Length; i++)
            Assert.True(Math.Abs(actual.Data[i] - (double)expected.Data[i]) <= 1e-6 * Math.Abs(expected.Data[i]),
                $"prompt_depth value {i} is {actual.Data[i]}, expected {expected.Data[i]}");
    }

    [Fact]
    public void PixelValuesAndPromptMatchReference()
    {
        var processor = Processor();
        var inputs = processor.Preprocess([Picture()], [RawPrompt()]);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var steps = Enumerable.Range(0, 3).Select(c => (float)(processor.Config.RescaleFactor / processor.Config.ImageStd![c])).ToArray();
        int off = Tolerance.AssertPixelValues8BitClose("pixel_values", expected.Read("pixel_values"), inputs.PixelValues, steps);
        output.WriteLine($"pixel_values: {off} values off by one 8-bit step");
        Assert.Equal(0, off);
        // Not resized: the 24x32 prompt stays so beside 98x140 pixels, in metres.
        AssertPromptClose(expected.Read("prompt_depth"), inputs.PromptDepth!);
    }

    [Fact]
    public void PaddingToSizeDivisorGoesAsInTheReference()
    {
        // The reference's Prompt Depth Anything and DPT processors resize, rescale, normalise and centre-pad alike, so
        // the DPT fixture with do_pad and size_divisor 32 is this processor's under its own image_processor_type.
        string text = File.ReadAllText(Fixtures.Path("processors", "processors", "dpt_pad_32", "preprocessor_config.json"));
        var temp = Directory.CreateTempSubdirectory("depthsharp-pda-pad-");
        try
        {
            string path = Path.Combine(temp.FullName, "preprocessor_config.json");
            File.WriteAllText(path, text.Replace("\"DPTImageProcessor\"", "\"PromptDepthAnythingImageProcessor\""));
            var processor = Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(path));
            Assert.True(processor.Images.DoPad);
            using var expected = SafeTensorsFile.Open(Fixtures.Path("processors", "expected.safetensors"));
            float step = (float)(processor.Config.RescaleFactor / 0.5);
            for (int i = 0; i < 3; i++)
            {
                var actual = processor.Preprocess([ImageFile.Load(Fixtures.Path("processors", $"image{i}.png")).Image]);
                actual = actual.Reshape(3, actual.Dim(2), actual.Dim(3));
                Assert.Equal(0, actual.Dim(1) % 32);
                Assert.Equal(0, actual.Dim(2) % 32);
                string key = $"dpt_pad_32.{i}.pixel_values";
                Assert.Equal(0, Tolerance.AssertPixelValues8BitClose(key, expected.Read(key), actual, [step, step, step]));
            }
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    [Fact]
    public void WithoutPromptsThereIsNoPromptDepth()
    {
        var inputs = Processor().Preprocess([Picture()], null);
        Assert.Null(inputs.PromptDepth);
        Assert.Equal([1, 3, 98, 140], inputs.PixelValues.Shape);
    }

    [Fact]
    public void PromptScaleComesFromTheConfig()
    {
        var raw = new Tensor([1f, 2f, 3f, 4f], 2, 2);
        var config = new ImageProcessorConfig
        {
            ImageProcessorType = nameof(PromptDepthAnythingImageProcessor),
            Extra = new() { ["prompt_scale_to_meter"] = System.Text.Json.JsonDocument.Parse("0.5").RootElement },
        };
        Assert.Equal([0.5f, 1f, 1.5f, 2f], new PromptDepthAnythingImageProcessor(config).PreprocessPromptDepth([raw]).Data);
        Assert.Equal([0.001f, 0.002f, 0.003f, 0.004f], new PromptDepthAnythingImageProcessor().PreprocessPromptDepth([raw]).Data);
    }

    [Fact]
    public void PostProcessingMatchesReference()
    {
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        var picture = Picture();
        var post = PromptDepthAnythingImageProcessor.PostProcessDepthEstimation(expected.Read("predicted_depth"), [(picture.Height, picture.Width)]);
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), post[0]);
        output.WriteLine($"post.0.predicted_depth: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), post[0])}");
        int offByOne = DPTProcessingTests.AssertGray8Close("pipeline.0.depth_u8", expected.Read("pipeline.0.depth_u8").Data, DepthRender.PipelineGray8(post[0].Data));
        output.WriteLine($"pipeline.0.depth_u8: {offByOne} pixels off by one");
    }

    [Fact]
    public void FilesToDepthMatchReference()
    {
        // The picture and the raw prompt file through the processor, the model and post-processing, as the reference ran them.
        var model = PromptDepthAnythingForDepthEstimation.FromPretrained(Dir);
        var processor = Assert.IsType<PromptDepthAnythingImageProcessor>(ModelFamilies.LoadProcessor(Path.Combine(Dir, "preprocessor_config.json")));
        var picture = Picture();
        var inputs = processor.Preprocess([picture], [RawPrompt()]);
        var depth = model.Forward(inputs.PixelValues, inputs.PromptDepth);
        var post = PromptDepthAnythingImageProcessor.PostProcessDepthEstimation(depth, [(picture.Height, picture.Width)]);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        Tolerance.AssertModelClose("predicted_depth", expected.Read("predicted_depth"), depth);
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), post[0]);
        output.WriteLine($"post.0.predicted_depth: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), post[0])}");
    }

    [Fact]
    public void PromptsOfABatchAreStackedAsTheyAre()
    {
        var a = new Tensor([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = new Tensor([6f, 5f, 4f, 3f, 2f, 1f], 2, 3);
        var prompt = new PromptDepthAnythingImageProcessor().PreprocessPromptDepth([a, b], pictures: 2);
        Assert.Equal([2, 1, 2, 3], prompt.Shape);
        Assert.Equal(a.Data.Concat(b.Data).Select(v => v * 0.001f), prompt.Data);
    }

    public static TheoryData<string, string> BadPrompts => new()
    {
        { "rank 3", "prompt depth 0 must be a map [height, width], got [1, 2, 3]" },
        { "two for one picture", "2 prompt depth map(s) for 1 picture(s)" },
        { "none for one picture", "0 prompt depth map(s) for 1 picture(s)" },
        { "sizes differ", "prompt depth 1 is 4x2, prompt depth 0 is 3x2: prompts of one batch must have one size" },
        { "NaN", "prompt depth 0 has a non-finite value (NaN) at row 1, column 2" },
        { "constant", "prompt depth 0 is constant (every value is 2)" },
    };

    [Theory]
    [MemberData(nameof(BadPrompts))]
    public void BadPromptsAreRefused(string what, string message)
    {
        var map = new Tensor([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var processor = new PromptDepthAnythingImageProcessor();
        Tensor[] prompts;
        int pictures = 1;
        switch (what)
        {
            case "rank 3": prompts = [map.Reshape(1, 2, 3)]; break;
            case "two for one picture": prompts = [map, map]; break;
            case "none for one picture": prompts = []; break;
            case "sizes differ": prompts = [map, new Tensor(new float[8], 2, 4)]; pictures = 2; break;
            case "NaN": map.Data[5] = float.NaN; prompts = [map]; break;
            default: prompts = [new Tensor(Enumerable.Repeat(2000f, 6).ToArray(), 2, 3)]; break;
        }
        var e = Assert.Throws<PromptDepthException>(() => processor.PreprocessPromptDepth(prompts, pictures));
        Assert.Contains(message, e.Message);
    }
}
