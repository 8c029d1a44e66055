using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Pipeline;

public class ZoeDepthPipelineTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new() { "zoedepth_tiny_n_normed", "zoedepth_tiny_nk" };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EstimatorGivesThePipelinePictures(string name)
    {
        string dir = Fixtures.Path("models", name);
        var images = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "case.json"))).RootElement.GetProperty("images")
            .EnumerateArray().Select(e => ImageFile.Load(Path.Combine(dir, e.GetString()!))).ToList();
        using var expected = SafeTensorsFile.Open(Path.Combine(dir, "expected.safetensors"));
        foreach (bool flip in new[] { false, true })
        {
            var estimator = DepthEstimator.Load(dir, new DepthEstimatorOptions { FlipAverage = flip });
            var results = estimator.Estimate(images);
            for (int i = 0; i < images.Count; i++)
            {
                var r = results[i];
                Assert.True(r.IsMetric);
                Assert.Equal((images[i].Image.Height, images[i].Image.Width), (r.Height, r.Width));
                var e = expected.Read(flip ? $"post_flip.{i}.predicted_depth" : $"post.{i}.predicted_depth").Data;
                double mean = e.Average(v => (double)v), num = 0, den = 0, maxDiff = 0;
                for (int p = 0; p < e.Length; p++) { num += Math.Pow(r.Depth[p] - e[p], 2); den += Math.Pow(e[p] - mean, 2); maxDiff = Math.Max(maxDiff, Math.Abs(r.Depth[p] - e[p])); }
                output.WriteLine($"{name} flip={flip} rel {Math.Sqrt(num / den):E2} max {maxDiff:E2} range {e.Max() - e.Min():E2} domain {r.Domain}");
                if (!flip)
                {
                    var u8 = DepthRender.PipelineGray8(r.Depth);
                    var eu8 = expected.Read($"pipeline.{i}.depth_u8").Data;
                    int off = 0, worst = 0;
                    for (int p = 0; p < u8.Length; p++) { int d = Math.Abs(u8[p] - (int)eu8[p]); worst = Math.Max(worst, d); if (d > 0) off++; }
                    output.WriteLine($"  u8 off {off}/{u8.Length} worst {worst}");
                }
            }
        }
    }
}
