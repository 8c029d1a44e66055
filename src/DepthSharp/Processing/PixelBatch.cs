using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>The batch step the DPT-style and GLPN processors share: each picture's pixel values stacked into one tensor.</summary>
internal static class PixelBatch
{
    /// <summary>[batch, 3, H, W] from <paramref name="one"/>'s [3, H, W] per picture, which must all come out at one size.</summary>
    public static Tensor Stack(IReadOnlyList<RgbImage> images, Func<RgbImage, Tensor> one)
    {
        if (images.Count == 0) throw new ArgumentException("no images");
        var parts = images.Select(one).ToArray();
        if (parts.Any(p => p.Dim(1) != parts[0].Dim(1) || p.Dim(2) != parts[0].Dim(2)))
            throw new ArgumentException("pictures that come out at different sizes cannot form one batch; estimate them one at a time");
        return Ops.Concat(0, parts.Select(p => p.Reshape(1, 3, p.Dim(1), p.Dim(2))).ToArray());
    }
}
