using DepthSharp.Tensors;

namespace DepthSharp.Tests;

/// <summary>The fixtures' README rule for "close enough".</summary>
public static class Tolerance
{
    /// <summary>Model outputs and post-processed depth: relative L2 against the spread ≤ 2e-4 and max |Δ| ≤ 2e-3·range + 1e-5.</summary>
    public static void AssertModelClose(string name, Tensor expected, Tensor actual)
    {
        AssertShape(name, expected, actual);
        var e = expected.Data; var o = actual.Data;
        double mean = e.Average(v => (double)v);
        double num = 0, den = 0, maxDiff = 0;
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int i = 0; i < e.Length; i++)
        {
            Assert.True(float.IsFinite(o[i]), $"{name}: value {i} is {o[i]}");
            double d = o[i] - e[i];
            num += d * d;
            den += (e[i] - mean) * (e[i] - mean);
            maxDiff = Math.Max(maxDiff, Math.Abs(d));
            min = Math.Min(min, e[i]); max = Math.Max(max, e[i]);
        }
        double rel = den > 0 ? Math.Sqrt(num) / Math.Sqrt(den) : Math.Sqrt(num);
        double allowedMax = 2e-3 * (max - min) + 1e-5;
        Assert.True(rel <= 2e-4 && maxDiff <= allowedMax,
            $"{name}: relative L2 {rel:E3} (≤ 2e-4), max |Δ| {maxDiff:E3} (≤ {allowedMax:E3})");
    }

    /// <summary>The model-output measures as text, for test logs: relative L2 and max |Δ| against their limits.</summary>
    public static string DescribeModel(Tensor expected, Tensor actual)
    {
        var e = expected.Data; var o = actual.Data;
        double mean = e.Average(v => (double)v), num = 0, den = 0, maxDiff = 0;
        for (int i = 0; i < e.Length; i++)
        {
            num += (o[i] - (double)e[i]) * (o[i] - (double)e[i]);
            den += (e[i] - mean) * (e[i] - mean);
            maxDiff = Math.Max(maxDiff, Math.Abs(o[i] - (double)e[i]));
        }
        double rel = den > 0 ? Math.Sqrt(num / den) : Math.Sqrt(num);
        return $"rel L2 {rel:E2} (≤ 2e-4), max |Δ| {maxDiff:E2} (≤ {2e-3 * (e.Max() - e.Min()) + 1e-5:E2})";
    }

    /// <summary>Float pixel values: max |Δ| ≤ 1e-4 · max(1, max|E|).</summary>
    public static void AssertPixelValuesClose(string name, Tensor expected, Tensor actual)
    {
        AssertShape(name, expected, actual);
        float maxAbs = expected.Data.Max(MathF.Abs);
        double allowed = 1e-4 * Math.Max(1, maxAbs), maxDiff = 0;
        for (int i = 0; i < expected.Data.Length; i++)
        {
            Assert.True(float.IsFinite(actual.Data[i]), $"{name}: value {i} is {actual.Data[i]}");
            maxDiff = Math.Max(maxDiff, Math.Abs(actual.Data[i] - expected.Data[i]));
        }
        Assert.True(maxDiff <= allowed, $"{name}: max |Δ| {maxDiff:E3} > {allowed:E3}");
    }

    /// <summary>
    /// Pixel values rounded through 8 bits (DPT processors): every value within 1e-5, except at most 0.5% that are off
    /// by exactly one 8-bit step of their channel (<paramref name="stepPerChannel"/>, in normalised units). Returns how many are.
    /// </summary>
    public static int AssertPixelValues8BitClose(string name, Tensor expected, Tensor actual, float[] stepPerChannel)
    {
        AssertShape(name, expected, actual);
        int channels = expected.Dim(-3), plane = expected.Dim(-2) * expected.Dim(-1), offByStep = 0;
        for (int i = 0; i < expected.Data.Length; i++)
        {
            float o = actual.Data[i], e = expected.Data[i];
            Assert.True(float.IsFinite(o), $"{name}: value {i} is {o}");
            double d = Math.Abs((double)o - e);
            if (d <= 1e-5) continue;
            double step = stepPerChannel[i / plane % channels];
            Assert.True(Math.Abs(d - step) <= 1e-5, $"{name}: value {i} is {o}, expected {e} (|Δ| {d:E3} is neither ≤ 1e-5 nor one step {step:E3})");
            offByStep++;
        }
        Assert.True(offByStep <= expected.Data.Length * 0.005, $"{name}: {offByStep} of {expected.Data.Length} values off by one 8-bit step (> 0.5%)");
        return offByStep;
    }

    /// <summary>
    /// The fast processors' strict rule (processors_fast): every value within 1e-5, with no allowance for 8-bit steps.
    /// Returns how many values are off (callers report the count and assert it is 0), the largest |Δ|, and how many
    /// values differ at all.
    /// </summary>
    public static (int Off, double MaxDiff, int NotIdentical) PixelValuesStrict(string name, Tensor expected, Tensor actual)
    {
        AssertShape(name, expected, actual);
        int off = 0, notIdentical = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.Data.Length; i++)
        {
            Assert.True(float.IsFinite(actual.Data[i]), $"{name}: value {i} is {actual.Data[i]}");
            double d = Math.Abs((double)actual.Data[i] - expected.Data[i]);
            if (d > 1e-5) off++;
            if (d != 0) notIdentical++;
            maxDiff = Math.Max(maxDiff, d);
        }
        return (off, maxDiff, notIdentical);
    }

    public static void AssertShape(string name, Tensor expected, Tensor actual) =>
        Assert.True(expected.Shape.AsSpan().SequenceEqual(actual.Shape),
            $"{name}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
}
