using DepthSharp.Models;
using DepthSharp.Tensors;
using static DepthSharp.Tests.Kernels.KernelTestHelpers;

namespace DepthSharp.Tests.Models;

/// <summary>The spatial reduction as a linear layer over token patches is the reference's strided convolution.</summary>
public class GLPNTokenLayoutTests
{
    [Theory]
    [InlineData(2, 8, 12, 5, 4)]   // patches tile the map
    [InlineData(1, 7, 11, 6, 3)]   // trailing rows and columns fill no patch
    [InlineData(1, 5, 5, 3, 5)]    // one patch
    public void PatchLinearIsTheStridedConvolution(int batch, int height, int width, int channels, int r)
    {
        var tokens = new Tensor(Random(1, (long)batch * height * width * channels), batch, height * width, channels);
        var weight = new Tensor(Random(2, (long)channels * channels * r * r), channels, channels, r, r);
        var bias = new Tensor(Random(3, channels), channels);

        var map = TokenLayout.TokensToMap(tokens, height, width);
        var expected = TokenLayout.MapToTokens(Ops.Conv2d(map, weight, bias, stride: r));
        var actual = Ops.Linear(TokenLayout.Patches(tokens, height, width, r), new PackedWeight(TokenLayout.PatchMajorWeight(weight)), bias);

        Assert.Equal([batch, height / r * (width / r), channels], actual.Shape);
        AssertClose(expected.Data, actual.Data, channels * r * r, $"{height}x{width} map, {r}x{r} patches");
        Assert.Equal(batch * height * width * channels, tokens.Length); // the caller's tokens are kept
    }
}
