using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace DepthSharp.Tensors.Kernels;

/// <summary>
/// A parallel for-loop on a fixed team of threads: the caller and <see cref="KernelOptions.Threads"/> − 1 helpers
/// take the loop's indices from a shared counter. Between loops a helper spins for a short while before it blocks, so
/// the next loop of a forward pass (a few hundred loops a pass, many under a millisecond) finds it awake; the thread
/// pool's workers, which <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/> uses, go to sleep and take
/// a wake-up each time.
/// A loop started inside another loop's body runs serially on the calling thread (the team is busy there); a loop
/// started by another thread while the team is busy falls back to <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>.
/// </summary>
internal static class WorkerTeam
{
    /// <summary>How long an idle helper spins before it blocks: longer than the gaps between a pass's loops.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000;

    private static readonly object Gate = new();
    private static readonly List<Thread> Helpers = [];
    private static Job? _job;
    private static long _generation;
    private static int _sleepers;
    private static int _busy;

    [ThreadStatic] private static bool _inBody;

    /// <summary>body(i) for every i in [0, count), on up to <see cref="KernelOptions.Threads"/> threads.</summary>
    public static void For(int count, Action<int> body)
    {
        int threads = Math.Min(KernelOptions.Threads, count);
        if (threads <= 1 || _inBody)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            Parallel.For(0, count, KernelOptions.Parallel, body);
            return;
        }
        try
        {
            EnsureHelpers(threads - 1);
            var job = new Job(count, body, threads - 1);
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            // A helper that counted itself a sleeper before this increment checks the generation after it; one counted
            // later sees the new generation before it waits. Either way no helper sleeps through the loop.
            if (Volatile.Read(ref _sleepers) > 0)
                lock (Gate) Monitor.PulseAll(Gate);
            job.Work(helper: -1);
            job.WaitForAll();
            job.Error?.Throw();
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void EnsureHelpers(int count)
    {
        while (Helpers.Count < count)
        {
            int index = Helpers.Count;
            var thread = new Thread(() => HelperLoop(index)) { IsBackground = true, Name = $"DepthSharp worker {index + 1}" };
            Helpers.Add(thread);
            thread.Start();
        }
    }

    private static void HelperLoop(int index)
    {
        _inBody = true;
        long seen = Volatile.Read(ref _generation);
        while (true)
        {
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref _generation) == seen && Stopwatch.GetTimestamp() - start < SpinTicks) Thread.SpinWait(20);
            if (Volatile.Read(ref _generation) == seen)
                lock (Gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    while (Volatile.Read(ref _generation) == seen) Monitor.Wait(Gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            seen = Volatile.Read(ref _generation);
            Volatile.Read(ref _job)?.Work(index);
        }
    }

    private sealed class Job(int count, Action<int> body, int helpers)
    {
        private readonly int _count = count;
        private int _next;
        private int _pending = count;
        private ExceptionDispatchInfo? _error;
        public ExceptionDispatchInfo? Error => _error;

        /// <summary>Takes indices until none is left; <paramref name="helper"/> −1 is the caller, helpers past the loop's thread count stay out.</summary>
        public void Work(int helper)
        {
            if (helper >= helpers) return;
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count)
            {
                try
                {
                    _inBody = true;
                    body(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                }
                finally
                {
                    if (helper < 0) _inBody = false;
                    Interlocked.Decrement(ref _pending);
                }
            }
        }

        public void WaitForAll()
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref _pending) > 0) spin.SpinOnce(sleep1Threshold: -1);
        }
    }
}
