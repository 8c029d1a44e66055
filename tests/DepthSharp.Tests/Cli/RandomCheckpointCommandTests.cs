using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Cli;

/// <summary>`depthsharp random-checkpoint` and the float32 → 16-bit narrowing it shares with <see cref="RandomWeights"/>.</summary>
public sealed class RandomCheckpointCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-random-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void NarrowingRoundsF16ToNearestEvenAndTruncatesBF16()
    {
        float tieDown = 1 + MathF.Pow(2, -11), aboveTie = 1 + 3 * MathF.Pow(2, -12), huge = 65520f;
        Assert.Equal([(ushort)0x3C00, 0x3C00, 0x3C01, 0xBC00, 0x7C00], HalfConvert.Narrow([1f, tieDown, aboveTie, -1f, huge], HalfKind.F16));
        // bfloat16 keeps the upper 16 bits: 1 + 2^-8 and 1 + 2^-7 - 2^-23 both become 1 (0x3F80).
        Assert.Equal([(ushort)0x3F80, 0x3F80, 0x3F80, 0xBF80], HalfConvert.Narrow([1f, 1 + MathF.Pow(2, -8), 1 + MathF.Pow(2, -7) - MathF.Pow(2, -23), -1f], HalfKind.BF16));
    }

    [Theory]
    [InlineData("f16")]
    [InlineData("bf16")]
    public void StoredWeightsAreTheOnesRandomHalfWeightsLoad(string dtype)
    {
        var kind = dtype == "f16" ? HalfKind.F16 : HalfKind.BF16;
        // One tensor: the random stream is then consumed the same way whatever order the tensors are written in.
        string from = Path.Combine(_dir, "from"), output = Path.Combine(_dir, dtype);
        Directory.CreateDirectory(from);
        File.WriteAllText(Path.Combine(from, "weights.json"), """{"tensors": {"encoder.layer.0.dense.weight": [24, 40]}}""");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(1), "random-checkpoint", from, "--output", output, "--dtype", dtype, "--seed", "3");
        Assert.True(code == 0, stderr);
        using var stored = SafeTensorsFile.Open(Path.Combine(output, "model.safetensors"));
        var expected = new RandomWeights(3, kind).GetHalf("encoder.layer.0.dense.weight", [24, 40])!.ToFloat();
        var actual = stored.Read("encoder.layer.0.dense.weight");
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Data, actual.Data);
    }
}
