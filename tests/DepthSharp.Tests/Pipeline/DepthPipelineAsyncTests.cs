using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Pipeline;

/// <summary>DepthPipeline.EstimateAsync: the synchronous Estimate's results, off the caller's thread, cancellable between stages.</summary>
public sealed class DepthPipelineAsyncTests
{
    [Theory]
    [InlineData("depth_pro_tiny")]
    [InlineData("depth_anything_tiny_metric")]
    [InlineData("zoedepth_tiny_nk")]
    public async Task PathStreamAndPixelsGiveEstimatesDepth(string name)
    {
        string dir = Fixtures.Path("models", name), picture = Path.Combine(dir, "image0.png");
        var pipeline = await DepthPipeline.CreateAsync(dir);
        var expected = pipeline.Estimate(picture).Depth;

        var fromPath = await pipeline.EstimateAsync(picture);
        Assert.Equal(expected.Depth, fromPath.Depth.Depth);
        Assert.Equal((expected.Width, expected.Height, expected.FocalLength), (fromPath.Depth.Width, fromPath.Depth.Height, fromPath.Depth.FocalLength));
        Assert.Equal(picture, fromPath.FileName);
        Assert.True(fromPath.DecodeTime > TimeSpan.Zero && fromPath.InferenceTime > TimeSpan.Zero);

        await using (var stream = File.OpenRead(picture))
        {
            var fromStream = await pipeline.EstimateAsync(stream, "image0.png");
            Assert.Equal(expected.Depth, fromStream.Depth.Depth);
            Assert.Equal("image0.png", fromStream.FileName);
        }

        var decoded = ImageFile.Load(picture).Image;
        var fromPixels = await pipeline.EstimateAsync(decoded);
        Assert.Equal(pipeline.Estimate(decoded).Depth.Depth, fromPixels.Depth.Depth);
        Assert.Equal(TimeSpan.Zero, fromPixels.DecodeTime);
    }

    [Fact]
    public async Task RunsOffTheCallersThread()
    {
        string dir = Fixtures.Path("models", "depth_pro_tiny");
        var pipeline = await DepthPipeline.CreateAsync(dir);
        using var release = new ManualResetEventSlim();
        // The first progress report waits for the test: run on the caller's thread, EstimateAsync would only return
        // after that wait timed out, already complete.
        var progress = new Inline<ModelProgress>(_ => release.Wait(TimeSpan.FromSeconds(30)));
        var task = pipeline.EstimateAsync(Path.Combine(dir, "image0.png"), progress);
        Assert.False(task.IsCompleted);
        release.Set();
        Assert.Equal(pipeline.Estimate(Path.Combine(dir, "image0.png")).Depth.Depth, (await task).Depth.Depth);
    }

    [Fact]
    public async Task CancelledWhileReadingStopsBeforeTheForwardPass()
    {
        string dir = Fixtures.Path("models", "depth_pro_tiny");
        var pipeline = await DepthPipeline.CreateAsync(dir);
        using var cancel = new CancellationTokenSource();
        var steps = new List<ModelProgress>();
        // The stream cancels the token as its last bytes are read: nothing after the read may run, no forward step above all.
        await using var stream = new CancellingStream(File.ReadAllBytes(Path.Combine(dir, "image0.png")), cancel);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipeline.EstimateAsync(stream, "image0.png", new Inline<ModelProgress>(steps.Add), cancel.Token));
        Assert.True(stream.ReadToEnd);
        Assert.Empty(steps);
    }

    [Fact]
    public async Task CancelledTokenRunsNothing()
    {
        string dir = Fixtures.Path("models", "depth_pro_tiny");
        var pipeline = await DepthPipeline.CreateAsync(dir);
        var steps = new List<ModelProgress>();
        var progress = new Inline<ModelProgress>(steps.Add);
        var cancelled = new CancellationToken(canceled: true);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipeline.EstimateAsync(Path.Combine(dir, "image0.png"), progress, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipeline.EstimateAsync(ImageFile.Load(Path.Combine(dir, "image0.png")).Image, progress, cancelled));
        Assert.Empty(steps);
    }

    [Fact]
    public async Task BrokenPictureIsReportedByName()
    {
        var pipeline = await DepthPipeline.CreateAsync(Fixtures.Path("models", "depth_pro_tiny"));
        var e = await Assert.ThrowsAsync<ImageFormatException>(() => pipeline.EstimateAsync(Fixtures.Path("images", "bad_truncated.jpg")));
        Assert.Contains("bad_truncated.jpg", e.Message);
    }

    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>A picture's bytes that cancel <paramref name="cancel"/> when the last of them is read.</summary>
    private sealed class CancellingStream(byte[] bytes, CancellationTokenSource cancel) : MemoryStream(bytes, writable: false)
    {
        public bool ReadToEnd { get; private set; }

        public override int Read(byte[] buffer, int offset, int count) => Cancelling(base.Read(buffer, offset, count));
        public override int Read(Span<byte> buffer) => Cancelling(base.Read(buffer));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
        {
            var chunk = new byte[bufferSize];
            for (int n; (n = Read(chunk, 0, chunk.Length)) > 0;) destination.Write(chunk, 0, n);
            return Task.CompletedTask;
        }

        private int Cancelling(int read)
        {
            if (Position == Length && !ReadToEnd)
            {
                ReadToEnd = true;
                cancel.Cancel();
            }
            return read;
        }
    }
}
