using DepthSharp.Hub;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using DepthSharp.Tests.Hub;

namespace DepthSharp.Tests.Pipeline;

/// <summary>The front door, through its public API only, on the tiny fixture models.</summary>
public sealed class DepthPipelineTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), $"depthsharp-pipeline-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_temp)) Directory.Delete(_temp, recursive: true);
    }

    [Theory]
    [InlineData("depth_pro_tiny", "depth_pro")]
    [InlineData("depth_pro_tiny_nofov_f16", "depth_pro")]
    [InlineData("depth_pro_tiny_batch2_bf16_sharded", "depth_pro")]
    [InlineData("dpt_tiny", "dpt")]
    [InlineData("dpt_hybrid_tiny", "dpt")]
    [InlineData("dpt_beit_tiny", "dpt")]
    [InlineData("dpt_swinv2_tiny", "dpt")]
    [InlineData("depth_anything_tiny_relative", "depth_anything")]
    [InlineData("depth_anything_tiny_metric", "depth_anything")]
    [InlineData("zoedepth_tiny_n_normed", "zoedepth")]
    [InlineData("zoedepth_tiny_nk", "zoedepth")]
    public async Task PathStreamAndImageGiveTheEstimatorsDepth(string name, string modelType)
    {
        string dir = Fixtures.Path("models", name), picture = Path.Combine(dir, "image0.png");
        var pipeline = await DepthPipeline.CreateAsync(dir);
        Assert.Equal(modelType, pipeline.ModelType);
        Assert.Equal(Path.GetFullPath(dir), pipeline.ModelFolder);

        var steps = new List<ModelProgress>();
        var fromPath = pipeline.Estimate(picture, new Inline<ModelProgress>(steps.Add));
        var expected = DepthEstimator.Load(dir).Estimate(ImageFile.Load(picture));
        Assert.Equal(expected.Depth, fromPath.Depth.Depth);
        Assert.Equal(picture, fromPath.FileName);
        Assert.True(fromPath.InferenceTime > TimeSpan.Zero && fromPath.DecodeTime > TimeSpan.Zero);
        Assert.Equal(fromPath.DecodeTime + fromPath.InferenceTime, fromPath.TotalTime);
        Assert.Equal(pipeline.Estimator.ForwardSteps, steps.Count);

        await using (var stream = File.OpenRead(picture))
        {
            var fromStream = pipeline.Estimate(stream, "image0.png");
            Assert.Equal(expected.Depth, fromStream.Depth.Depth);
            Assert.Equal("image0.png", fromStream.FileName);
        }
        var decoded = ImageFile.Load(picture).Image;
        var fromImage = pipeline.Estimate(decoded);
        Assert.Equal((decoded.Width, decoded.Height), (fromImage.Depth.Width, fromImage.Depth.Height));
        Assert.Null(fromImage.FileName);
        Assert.Equal(TimeSpan.Zero, fromImage.DecodeTime);
    }

    [Fact]
    public async Task FolderWithoutConfigIsRefusedByName()
    {
        string empty = Directory.CreateTempSubdirectory("depthsharp-noconfig-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<ConfigException>(() => DepthPipeline.CreateAsync(empty));
            Assert.Contains("config.json", e.Message);
        }
        finally { Directory.Delete(empty, recursive: true); }
    }

    [Fact]
    public async Task UsersFocalLengthScalesDepthProAndIsReported()
    {
        string dir = Fixtures.Path("models", "depth_pro_tiny"), picture = Path.Combine(dir, "image0.png");
        var own = (await DepthPipeline.CreateAsync(dir)).Estimate(picture).Depth;
        var pipeline = await DepthPipeline.CreateAsync(dir, new DepthPipelineOptions { Estimator = new DepthEstimatorOptions { FocalLengthPixels = 2 * own.FocalLength!.Value } });
        var user = pipeline.Estimate(picture).Depth;
        Assert.Equal(FocalLengthSource.User, user.FocalLengthSource);
        Assert.Equal(2 * own.FocalLength!.Value, user.FocalLength!.Value, 9);
        Assert.Equal(FocalLengthSource.Model, own.FocalLengthSource);
        // Depth is width / focal times the model's canonical inverse depth, inverted: twice the focal length, twice the depth.
        double ratio = user.Depth.Zip(own.Depth, (u, o) => (double)u / o).Average();
        Assert.Equal(2.0, ratio, 3);
    }

    [Fact]
    public async Task FolderIsEstimatedInNameOrderSkippingOtherFiles()
    {
        string source = Fixtures.Path("models", "dpt_tiny", "image0.png");
        Directory.CreateDirectory(_temp);
        File.Copy(source, Path.Combine(_temp, "b.PNG"));
        File.Copy(source, Path.Combine(_temp, "a.png"));
        File.WriteAllText(Path.Combine(_temp, "notes.txt"), "not a picture");
        var pipeline = await DepthPipeline.CreateAsync(Fixtures.Path("models", "dpt_tiny"));

        var names = new List<string?>();
        await foreach (var estimate in pipeline.EstimateFolderAsync(_temp))
            names.Add(Path.GetFileName(estimate.FileName));
        Assert.Equal(["a.png", "b.PNG"], names);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in pipeline.EstimateFolderAsync(_temp, cancellationToken: new CancellationToken(canceled: true))) { }
        });
        await Assert.ThrowsAsync<ImageFormatException>(async () =>
        {
            await foreach (var _ in pipeline.EstimateFolderAsync(Path.Combine(_temp, "missing"))) { }
        });
    }

    [Fact]
    public async Task BrokenPictureIsReportedByName()
    {
        var pipeline = await DepthPipeline.CreateAsync(Fixtures.Path("models", "dpt_tiny"));
        var e = Assert.Throws<ImageFormatException>(() => pipeline.Estimate(Path.Combine(Fixtures.Images, "bad_truncated.jpg")));
        Assert.Contains("bad_truncated.jpg", e.Message);
    }

    [Fact]
    public async Task RepoIdIsResolvedThroughTheHub()
    {
        using var hub = new FakeHub().WithRepo("intel/dpt-tiny", Fixtures.Path("models", "dpt_tiny"));
        var options = new DepthPipelineOptions { Hub = new HubOptions { Endpoint = hub.Endpoint, CacheDir = Path.Combine(_temp, "hub") } };
        long downloaded = 0;
        var pipeline = await DepthPipeline.CreateAsync("intel/dpt-tiny", options, new Inline<long>(n => downloaded = n));
        Assert.Equal("dpt", pipeline.ModelType);
        Assert.StartsWith(Path.Combine(_temp, "hub", "models--intel--dpt-tiny", "snapshots"), pipeline.ModelFolder);
        Assert.True(downloaded > 0);
        string picture = Fixtures.Path("models", "dpt_tiny", "image0.png");
        Assert.Equal(DepthEstimator.Load(Fixtures.Path("models", "dpt_tiny")).Estimate(ImageFile.Load(picture)).Depth, pipeline.Estimate(picture).Depth.Depth);
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
