using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

[Collection(nameof(KernelOptionsCollection))]
public sealed class WorkerTeamTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 7)]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    [InlineData(2, 37)]
    [InlineData(3, 2)]
    [InlineData(4, 1001)]
    public void EveryIndexRunsExactlyOnce(int threads, int count)
    {
        using var _ = new Options(threads);
        // Many loops in a row: a helper that slept, spun or is late for a loop must neither miss nor repeat an index.
        for (int loop = 0; loop < 200; loop++)
        {
            var hits = new int[count];
            WorkerTeam.For(count, i => Interlocked.Increment(ref hits[i]));
            Assert.All(hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void HelpersThatSleptAreWokenForTheNextLoop()
    {
        using var _ = new Options(2);
        var threadsSeen = new HashSet<int>();
        for (int loop = 0; loop < 5; loop++)
        {
            Thread.Sleep(20); // far past the helpers' spin, so they block
            // Each index waits (up to 10 s) until both have started, which only two threads at once can satisfy.
            int started = 0, met = 0;
            WorkerTeam.For(2, index =>
            {
                Interlocked.Increment(ref started);
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (Volatile.Read(ref started) < 2 && DateTime.UtcNow < deadline) Thread.SpinWait(100);
                if (Volatile.Read(ref started) == 2) Interlocked.Increment(ref met);
                lock (threadsSeen) threadsSeen.Add(Environment.CurrentManagedThreadId);
            });
            Assert.Equal(2, met);
        }
        Assert.Equal(2, threadsSeen.Count);
    }

    [Fact]
    public void NestedLoopsRunAndAnExceptionReachesTheCaller()
    {
        using var _ = new Options(2);
        var hits = new int[6, 5];
        WorkerTeam.For(6, i => WorkerTeam.For(5, j => Interlocked.Increment(ref hits[i, j])));
        Assert.All(hits.Cast<int>(), h => Assert.Equal(1, h));

        var error = Assert.Throws<InvalidOperationException>(() =>
            WorkerTeam.For(9, i => { if (i == 4) throw new InvalidOperationException("index 4"); }));
        Assert.Equal("index 4", error.Message);
        // The team is free again after a failed loop.
        int sum = 0;
        WorkerTeam.For(10, i => Interlocked.Add(ref sum, i));
        Assert.Equal(45, sum);
    }

    [Fact]
    public void LoopsFromSeveralThreadsAtOnceAllComplete()
    {
        using var _ = new Options(2);
        var sums = new long[4];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, caller =>
        {
            for (int loop = 0; loop < 100; loop++)
                WorkerTeam.For(50, i => Interlocked.Add(ref sums[caller], i));
        });
        Assert.All(sums, s => Assert.Equal(100L * 49 * 50 / 2, s));
    }
}
