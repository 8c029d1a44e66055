using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>ZoeDepthImageProcessor.post_process_depth_estimation.</summary>
public static class ZoeDepthPostProcessor
{
    /// <param name="predictedDepth">[B, h, w] metric depth from the model.</param>
    /// <param name="sourceSizes">(height, width) of each picture before preprocessing: the depth is resized (bicubic) to the
    /// padded picture and the padding cut off. Required when <paramref name="removePadding"/>.</param>
    /// <param name="targetSizes">(height, width) to resize each result to afterwards (bicubic), or null.</param>
    /// <param name="flippedDepth">The model's output for the horizontally flipped pixel values, averaged in (flipped back), or null.</param>
    /// <param name="removePadding">Whether the processor padded (its do_pad).</param>
    /// <summary>Each picture's metric depth at its size, as the reference's post-processing gives it.</summary>
    /// <returns>Depth [H, W] per picture.</returns>
    /// <exception cref="ArgumentException">The flipped output's shape differs, sizes are not one per picture, or padding is to be removed without source sizes.</exception>
    public static List<Tensor> Process(Tensor predictedDepth, IReadOnlyList<(int Height, int Width)>? sourceSizes,
        IReadOnlyList<(int Height, int Width)>? targetSizes = null, Tensor? flippedDepth = null, bool removePadding = true)
    {
        int batch = predictedDepth.Dim(0), h = predictedDepth.Dim(1), w = predictedDepth.Dim(2);
        if (flippedDepth is not null && !flippedDepth.Shape.AsSpan().SequenceEqual(predictedDepth.Shape))
            throw new ArgumentException($"flipped output {flippedDepth} does not match the output {predictedDepth}");
        if (targetSizes is not null && targetSizes.Count != batch)
            throw new ArgumentException($"{targetSizes.Count} target sizes for a batch of {batch}");
        if (sourceSizes is null && removePadding)
            throw new ArgumentException("source sizes are needed to remove the padding");
        if (sourceSizes is not null && sourceSizes.Count != batch)
            throw new ArgumentException($"{sourceSizes.Count} source sizes for a batch of {batch}");

        var depth = predictedDepth;
        if (flippedDepth is not null)
        {
            depth = Ops.Add(predictedDepth, Ops.FlipLastDim(flippedDepth));
            var d = depth.Data;
            for (int i = 0; i < d.Length; i++) d[i] /= 2;
        }
        var results = new List<Tensor>(batch);
        for (int b = 0; b < batch; b++)
        {
            var one = new Tensor(depth.Data.AsSpan(b * h * w, h * w).ToArray(), 1, 1, h, w);
            if (sourceSizes is not null)
            {
                var (sh, sw) = sourceSizes[b];
                var (rows, columns) = removePadding ? ZoeDepthImageProcessor.Padding(sh, sw) : (0, 0);
                one = Ops.Interpolate(one, sh + 2 * rows, sw + 2 * columns, InterpolationMode.Bicubic, alignCorners: false);
                if (rows > 0) one = Ops.Narrow(one, 2, rows, sh);
                if (columns > 0) one = Ops.Narrow(one, 3, columns, sw);
            }
            if (targetSizes is not null)
                one = Ops.Interpolate(one, targetSizes[b].Height, targetSizes[b].Width, InterpolationMode.Bicubic, alignCorners: false);
            results.Add(one.Reshape(one.Dim(2), one.Dim(3)));
        }
        return results;
    }
}
