namespace DepthSharp.Tensors.Kernels.Bins;

/// <summary>
/// Tensor-level operations on per-pixel depth bins (distributions over bins, attractor steps on bin centres, sorted
/// centres) and the softplus they use; each picks the fast or the reference kernel as <see cref="Ops"/> does
/// (<see cref="KernelOptions.ForceReference"/>).
/// </summary>
internal static class BinOps
{
    private static bool Ref => KernelOptions.ForceReference;

    /// <summary>
    /// The log-binomial bin distribution: pt [B, 4, H, W] (softplus outputs for p and the temperature) → bin
    /// probabilities [B, K, H, W], K = logBinom.Length (see <see cref="Reference.LogBinomialSoftmax"/>).
    /// </summary>
    public static Tensor LogBinomialSoftmax(Tensor pt, float[] logBinom, float minTemp, float tempRange)
    {
        if (pt.Rank != 4 || pt.Dim(1) != 4 || logBinom.Length == 0)
            throw new ArgumentException($"log-binomial bins need [B, 4, H, W] and at least one bin, not {pt} and {logBinom.Length}");
        int batch = pt.Dim(0), plane = pt.Dim(2) * pt.Dim(3);
        var y = Tensor.Empty(batch, logBinom.Length, pt.Dim(2), pt.Dim(3));
        if (Ref) Reference.LogBinomialSoftmax(pt.Data, batch, plane, logBinom, minTemp, tempRange, y.Data);
        else Fast.LogBinomialSoftmax(pt.Data, batch, plane, logBinom, minTemp, tempRange, y.Data);
        return y;
    }

    /// <summary>
    /// The attractor step on bin centres [B, K, H, W] with the first plane of every stride planes of
    /// attractors [B, count·stride, H, W] (see <see cref="Reference.AttractorShift"/>).
    /// </summary>
    public static Tensor AttractorShift(Tensor centers, Tensor attractors, int count, int stride, float offset, float alpha, bool mean)
    {
        if (centers.Rank != 4 || attractors.Rank != 4 || count < 1 || stride < 1 || attractors.Dim(1) != count * stride
            || attractors.Dim(0) != centers.Dim(0) || attractors.Dim(2) != centers.Dim(2) || attractors.Dim(3) != centers.Dim(3))
            throw new ArgumentException($"{count} attractors (every {stride}) in {attractors} do not fit centres {centers}");
        int batch = centers.Dim(0), bins = centers.Dim(1), plane = centers.Dim(2) * centers.Dim(3);
        var next = Tensor.Empty(centers.Shape);
        if (Ref) Reference.AttractorShift(centers.Data, batch, bins, plane, attractors.Data, count, stride, offset, alpha, mean, next.Data);
        else Fast.AttractorShift(centers.Data, batch, bins, plane, attractors.Data, count, stride, offset, alpha, mean, next.Data);
        return next;
    }

    /// <summary>x[B, C, H, W] scaled and shifted, sorted ascending along the channels of each pixel, clamped to [min, max].</summary>
    public static Tensor SortChannelsClamp(Tensor x, float scale, float shift, float min, float max)
    {
        if (x.Rank != 4) throw new ArgumentException($"sorting channels needs [B, C, H, W], not {x}");
        var y = Tensor.Empty(x.Shape);
        int batch = x.Dim(0), channels = x.Dim(1), plane = x.Dim(2) * x.Dim(3);
        if (Ref) Reference.SortChannelsClamp(x.Data, batch, channels, plane, scale, shift, min, max, y.Data);
        else Fast.SortChannelsClamp(x.Data, batch, channels, plane, scale, shift, min, max, y.Data);
        return y;
    }

    /// <summary>softplus(x) = log(1 + eˣ), PyTorch's default threshold (x itself above 20).</summary>
    public static Tensor Softplus(Tensor x)
    {
        var y = Tensor.Empty(x.Shape);
        if (Ref) Reference.Softplus(x.Data, y.Data); else Fast.Softplus(x.Data, y.Data);
        return y;
    }
}
