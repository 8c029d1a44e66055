using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Processing;

public class DepthProProcessingTests
{
    public static TheoryData<string> ModelCases => new() { "depth_pro_tiny", "depth_pro_tiny_nofov_f16", "depth_pro_tiny_batch2_bf16_sharded" };

    private static string[] Images(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement.GetProperty("images")
            .EnumerateArray().Select(e => Path.Combine(dir, e.GetString()!)).ToArray();

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void PixelValuesMatchReference(string name)
    {
        string dir = Fixtures.Path("models", name);
        var processor = ModelFamilies.LoadProcessor(Path.Combine(dir, "preprocessor_config.json"));
        var images = Images(dir).Select(p => ImageFile.Load(p).Image).ToList();
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        Tolerance.AssertPixelValuesClose("pixel_values", expected.Read("pixel_values"), processor.Preprocess(images));
    }

    [Theory]
    [InlineData("depth_pro_384", 1)]
    [InlineData("depth_pro_1536", 7)]
    public void ProcessorFixturesMatchReference(string processorName, int stride)
    {
        var processor = ModelFamilies.LoadProcessor(Fixtures.Path("processors", "processors", processorName, "preprocessor_config.json"));
        using var expected = SafeTensorsFile.Open(Fixtures.Path("processors", "expected.safetensors"));
        for (int i = 0; i < 3; i++)
        {
            var image = ImageFile.Load(Fixtures.Path("processors", $"image{i}.png")).Image;
            var actual = processor.Preprocess([image]);
            actual = actual.Reshape(3, actual.Dim(2), actual.Dim(3));
            string key = stride == 1 ? $"{processorName}.{i}.pixel_values" : $"{processorName}.{i}.pixel_values_stride7";
            Tolerance.AssertPixelValuesClose(key, expected.Read(key), stride == 1 ? actual : EveryNth(actual, stride));
        }
    }

    /// <summary>x[:, ::n, ::n], as the fixtures store 1536² outputs.</summary>
    internal static Tensor EveryNth(Tensor x, int n)
    {
        int c = x.Dim(0), h = (x.Dim(1) + n - 1) / n, w = (x.Dim(2) + n - 1) / n;
        var y = Tensor.Empty(c, h, w);
        for (int ci = 0; ci < c; ci++)
            for (int yy = 0; yy < h; yy++)
                for (int xx = 0; xx < w; xx++)
                    y.Data[(ci * h + yy) * w + xx] = x.Data[(ci * x.Dim(1) + yy * n) * x.Dim(2) + xx * n];
        return y;
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void PostProcessingMatchesReference(string name)
    {
        string dir = Fixtures.Path("models", name);
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        var images = Images(dir).Select(p => ImageFile.Load(p).Image).ToList();
        var depth = expected.Read("predicted_depth");
        var fov = expected.Entries.ContainsKey("field_of_view") ? expected.Read("field_of_view") : null;

        var withTarget = DepthProPostProcessor.Process(depth, fov, images.Select(i => (i.Height, i.Width)).ToList());
        var noTarget = DepthProPostProcessor.Process(depth, fov, null);
        for (int i = 0; i < images.Count; i++)
        {
            Tolerance.AssertModelClose($"post.{i}.predicted_depth", expected.Read($"post.{i}.predicted_depth"), withTarget[i].PredictedDepth);
            if (fov is null)
            {
                Assert.Null(withTarget[i].FocalLength);
                Assert.Null(withTarget[i].FieldOfView);
            }
            else
            {
                Tolerance.AssertModelClose($"post.{i}.field_of_view", expected.Read($"post.{i}.field_of_view"), Scalar(withTarget[i].FieldOfView));
                Tolerance.AssertModelClose($"post.{i}.focal_length", expected.Read($"post.{i}.focal_length"), Scalar(withTarget[i].FocalLength));
            }
            var corner = Ops.Narrow(Ops.Narrow(noTarget[i].PredictedDepth, 0, 0, 32), 1, 0, 32);
            Tolerance.AssertModelClose($"post_no_target.{i}.predicted_depth_corner", expected.Read($"post_no_target.{i}.predicted_depth_corner"), corner);

            var u8 = DepthRender.PipelineGray8(withTarget[i].PredictedDepth.Data);
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

    private static Tensor Scalar(double? v) => new([(float)v!.Value], 1);
}
