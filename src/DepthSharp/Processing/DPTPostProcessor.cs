using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>DPTImageProcessor.post_process_depth_estimation (DPT and Depth Anything).</summary>
public static class DPTPostProcessor
{
    /// <summary>
    /// Each picture's depth [H, W]: resized bicubically (align_corners false) to its target size, or left at the
    /// model's size without one. Nothing is clamped: the cubic filter may overshoot, e.g. below zero, as the reference's does.
    /// </summary>
    /// <param name="predictedDepth">[B, h, w] from the model.</param>
    /// <param name="targetSizes">(height, width) per picture, or null.</param>
    /// <exception cref="ArgumentException">The depth is not [B, h, w], or the target sizes are not one per picture.</exception>
    public static List<Tensor> Process(Tensor predictedDepth, IReadOnlyList<(int Height, int Width)>? targetSizes)
    {
        if (predictedDepth.Rank != 3) throw new ArgumentException($"predicted depth must be [batch, height, width], got {predictedDepth}");
        int batch = predictedDepth.Dim(0), h = predictedDepth.Dim(1), w = predictedDepth.Dim(2);
        if (targetSizes is not null && targetSizes.Count != batch)
            throw new ArgumentException($"{targetSizes.Count} target sizes for a batch of {batch}");
        var results = new List<Tensor>(batch);
        for (int b = 0; b < batch; b++)
        {
            var depth = new Tensor(predictedDepth.Data.AsSpan(b * h * w, h * w).ToArray(), h, w);
            if (targetSizes is not null)
            {
                var (th, tw) = targetSizes[b];
                depth = Ops.Interpolate(depth, th, tw, InterpolationMode.Bicubic, alignCorners: false);
            }
            results.Add(depth);
        }
        return results;
    }
}
