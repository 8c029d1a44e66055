using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Runs a head of the shape 3×3 convolution → ×2 transposed convolution → 3×3 convolution → … on a map in bands of rows,
/// so that its upsampled maps are never whole: output rows [2a, 2b) need the upsampled rows one beyond, i.e. the first
/// convolution's rows [c0, c1), which need input rows [x0, x1). A band's edge row that is not the image's was convolved
/// against false zero padding, and <see cref="Band"/> drops it after each 3×3 convolution.
/// </summary>
internal static class UpsamplingHeadBands
{
    /// <summary>Which rows of one band the layers keep.</summary>
    /// <param name="A">First input row whose output the band gives.</param>
    /// <param name="B">End (exclusive) of the input rows whose output the band gives.</param>
    /// <param name="C0">First row of the first convolution's output the band keeps.</param>
    /// <param name="C1">End of the first convolution's rows the band keeps.</param>
    /// <param name="X0">First input row the band reads.</param>
    internal readonly record struct Band(int A, int B, int C0, int C1, int X0)
    {
        /// <summary>The first convolution's rows [c0, c1) of its band output (which the caller loses).</summary>
        public Tensor KeepFirstConvolutionRows(Tensor x) => Lifetimes.Replace(x, Ops.Narrow(x, 2, C0 - X0, C1 - C0));

        /// <summary>The output rows [2a, 2b) of the second convolution's band output (which the caller loses).</summary>
        public Tensor KeepOutputRows(Tensor x) => Lifetimes.Replace(x, Ops.Narrow(x, 2, 2 * (A - C0), 2 * (B - A)));
    }

    /// <summary>
    /// The head's output [B, 2h, 2w] for <paramref name="input"/> [B, C, h, w] (kept), computed by <paramref name="layers"/>
    /// on bands whose upsampled maps take at most <paramref name="bandBytes"/> (at <paramref name="upsampledChannels"/>
    /// channels); <paramref name="layers"/> gets each band's input rows (its to lose) and returns that band's output.
    /// </summary>
    public static Tensor Run(Tensor input, long bandBytes, int upsampledChannels, Func<Tensor, Band, Tensor> layers)
    {
        int batch = input.Dim(0), h = input.Dim(2), w = input.Dim(3);
        long bytesPerRow = 2L * (2 * w) * upsampledChannels * batch * sizeof(float); // two upsampled rows per input row
        int rowsPerBand = RowBands.Rows(bandBytes, bytesPerRow, 2, h);
        var output = Tensor.Empty(batch, 1, 2 * h, 2 * w);
        for (int a = 0; a < h; a += rowsPerBand)
        {
            int b = Math.Min(h, a + rowsPerBand);
            var (c0, c1) = RowBands.Widen(a, b, 1, h);
            var (x0, x1) = RowBands.Widen(c0, c1, 1, h);
            var band = layers(Ops.Narrow(input, 2, x0, x1 - x0), new Band(a, b, c0, c1, x0));
            Ops.CopySlice(band, 0, output, 2 * a, 2, 2 * (b - a));
            band.Release();
        }
        return output.Reshape(batch, 2 * h, 2 * w);
    }
}
