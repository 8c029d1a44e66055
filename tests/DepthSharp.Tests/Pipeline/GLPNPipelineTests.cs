using System.Text.Json;
using DepthSharp.Checkpoints;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tests.Cli;
using DepthSharp.Tests.Processing;
using Xunit.Abstractions;

namespace DepthSharp.Tests.Pipeline;

/// <summary>GLPN through the registry: the library's pipeline and the command line give the reference's post-processed depth.</summary>
public sealed class GLPNPipelineTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string Dir = Fixtures.Path("models", "glpn_tiny");
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-glpn-pipeline-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task DepthPipelineGivesTheReferencesMetricDepth()
    {
        var pipeline = await DepthPipeline.CreateAsync(Dir);
        Assert.Equal("glpn", pipeline.ModelType);
        var result = pipeline.Estimate(Path.Combine(Dir, "image0.png")).Depth;
        Assert.Equal((150, 100), (result.Width, result.Height));
        Assert.Equal(DepthKind.Metric, result.Kind);
        Assert.Equal(DepthColoring.Linear, result.Coloring);
        Assert.Null(result.FieldOfView);
        Assert.Equal(FocalLengthSource.None, result.FocalLengthSource);

        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), result.AsTensor());
        output.WriteLine($"post.0.predicted_depth: {Tolerance.DescribeModel(expected.Read("post.0.predicted_depth"), result.AsTensor())}");
        int off = DPTProcessingTests.AssertGray8Close("pipeline.0.depth_u8", expected.Read("pipeline.0.depth_u8").Data, DepthRender.PipelineGray8(result.Depth));
        output.WriteLine($"pipeline.0.depth_u8: {off} pixels off by one");
    }

    [Fact]
    public void TheCommandLineWritesTheReferencesDepthInMetres()
    {
        string outDir = Path.Combine(_dir, "out");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "estimate", Path.Combine(Dir, "image0.png"), "--model", Dir,
            "--output", outDir, "--format", "npy", "color");
        Assert.True(code == 0, stderr);
        var npy = Npy.Read(Path.Combine(outDir, "image0.npy"));
        Assert.Equal([100, 150], npy.Shape);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        Tolerance.AssertModelClose("post.0.predicted_depth", expected.Read("post.0.predicted_depth"), new DepthSharp.Tensors.Tensor(npy.Float32!, 100, 150));
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(outDir, "image0.json")));
        Assert.Equal("glpn", json.RootElement.GetProperty("model_type").GetString());
        Assert.Equal("metres", json.RootElement.GetProperty("depth_units").GetString());
        Assert.False(json.RootElement.GetProperty("depth_is_inverse").GetBoolean());
        Assert.True(File.Exists(Path.Combine(outDir, "image0.png")));
    }

    [Fact]
    public void InspectAndRandomWeightBenchRunIt()
    {
        var (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(1), "inspect", Dir);
        Assert.True(code == 0, stderr);
        Assert.Equal("glpn", JsonDocument.Parse(stdout).RootElement.GetProperty("model_type").GetString());

        (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), "bench", "--model", Dir, "--random-weights", "--runs", "2", "--threads", "2", "--size", "64x96");
        Assert.True(code == 0, stderr);
        var line = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("glpn", line.GetProperty("model_type").GetString());
        Assert.Equal([64, 96], line.GetProperty("input").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(line.GetProperty("outputs_identical").GetBoolean());
    }

    [Fact]
    public void TheFolderAndItsProcessorResolveToGLPN()
    {
        var family = ModelFamilies.ForFolder(Dir);
        Assert.Equal("glpn", family.ModelType);
        Assert.Equal(["GLPNImageProcessor", "GLPNImageProcessorFast"], family.ImageProcessorTypes);
        // Without preprocessor_config.json: the reference class's defaults (multiples of 32, bilinear, 1/255).
        var defaults = Assert.IsType<GLPNImageProcessor>(ModelFamilies.LoadProcessor(family, _dir));
        Assert.Equal((96, 128), defaults.InputSize(new RgbImage(150, 100, new byte[150 * 100 * 3])));
        Assert.Equal(PilFilter.Bilinear, defaults.Resample);
    }
}
