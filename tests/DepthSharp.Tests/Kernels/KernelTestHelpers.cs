using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Tests.Kernels;

/// <summary>Random inputs, the kernels' tolerance rule and a KernelOptions scope, shared by the kernel test classes.</summary>
internal static class KernelTestHelpers
{
    internal static float[] Random(int seed, long count, float range = 1f)
    {
        var rng = new Random(seed);
        var a = new float[count];
        for (long i = 0; i < count; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * range);
        return a;
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, long k, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxRef = 0, maxDiff = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
            double d = Math.Abs((double)expected[i] - actual[i]);
            if (!(d <= maxDiff)) { maxDiff = double.IsNaN(d) ? double.PositiveInfinity : d; at = i; }
        }
        double tol = 2e-6 * Math.Sqrt(Math.Max(k, 1)) * (1 + maxRef);
        Assert.True(maxDiff <= tol,
            $"{what}: max|Δ| = {maxDiff:E3} at {at} (ref {(at >= 0 ? expected[at] : 0)}, fast {(at >= 0 ? actual[at] : 0)}) exceeds {tol:E3}");
    }

    /// <summary>
    /// Sets the thread count for one test, and the fast kernels (or the reference ones) for its flow only, and restores
    /// both afterwards.
    /// </summary>
    internal sealed class Options : IDisposable
    {
        private readonly int _threads = KernelOptions.Threads;
        private readonly IDisposable _kernels;

        public Options(int threads, bool reference = false)
        {
            KernelOptions.Threads = threads;
            _kernels = KernelOptions.UseReference(reference);
        }

        public void Dispose()
        {
            KernelOptions.Threads = _threads;
            _kernels.Dispose();
        }
    }
}
