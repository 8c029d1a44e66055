using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Kernels;

/// <summary>
/// The activations the models apply over a map's own storage (Ops.*InPlace), fast against reference: a kernel that
/// writes an intermediate into its output before it has read all of its input fails here, not when given two buffers.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class InPlaceActivationTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var op in new[] { "relu", "gelu", "silu", "sigmoid" })
            foreach (int n in new[] { 1, 17, 1023, 1025, 5000 })
                data.Add(op, n);
        return data;
    }

    private static Tensor Apply(string op, Tensor x) => op switch
    {
        "relu" => Ops.ReluInPlace(x),
        "gelu" => Ops.GeluInPlace(x),
        "silu" => Ops.SiluInPlace(x),
        _ => Ops.SigmoidInPlace(x),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void InPlaceActivationMatchesReference(string op, int n)
    {
        var values = Random(41, n, 6f);
        Tensor expected, actual;
        using (new Options(2))
        {
            KernelOptions.ForceReference = true;
            expected = Apply(op, new Tensor((float[])values.Clone(), n));
            KernelOptions.ForceReference = false;
            actual = Apply(op, new Tensor((float[])values.Clone(), n));
        }
        AssertClose(expected.Data, actual.Data, 1, $"{op} in place, {n} values");
    }
}
