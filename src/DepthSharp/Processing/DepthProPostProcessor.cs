using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>One picture's post-processed result: depth [H, W], and with the FOV head, degrees and pixels.</summary>
/// <param name="PredictedDepth">Depth [H, W]: metres when <paramref name="FocalLength"/> is known, else relative.</param>
/// <param name="FieldOfView">The model's horizontal field of view in degrees, or null without the FOV head.</param>
/// <param name="FocalLength">The focal length in pixels used, or null when none was known (or no target size was given).</param>
public sealed record PostProcessedDepth(Tensor PredictedDepth, double? FieldOfView, double? FocalLength);

/// <summary>DepthProImageProcessor.post_process_depth_estimation.</summary>
public static class DepthProPostProcessor
{
    /// <summary>
    /// Each picture's depth [H, W] at its target size: with a focal length (the override, or the one the field of view
    /// implies) canonical inverse depth becomes metres; without one it stays relative. Inverse depth is clamped to
    /// [1e-4, 1e4] before it is inverted, as the reference does.
    /// </summary>
    /// <param name="predictedDepth">[B, h, w] canonical inverse depth from the model.</param>
    /// <param name="fieldOfView">[B] degrees, or null without the FOV head.</param>
    /// <param name="targetSizes">(height, width) per picture, or null to keep the model's size (then no FOV scaling).</param>
    /// <param name="resample">The processor's resampling mode, used to resize the depth.</param>
    /// <param name="focalLengthOverride">Focal length in pixels per picture (e.g. from EXIF) used instead of the FOV estimate; null entries fall back to it.</param>
    /// <exception cref="ArgumentException">The target sizes are not one per picture.</exception>
    public static List<PostProcessedDepth> Process(Tensor predictedDepth, Tensor? fieldOfView, IReadOnlyList<(int Height, int Width)>? targetSizes,
        InterpolationMode resample = InterpolationMode.Bilinear, IReadOnlyList<double?>? focalLengthOverride = null)
    {
        int batch = predictedDepth.Dim(0), h = predictedDepth.Dim(1), w = predictedDepth.Dim(2);
        if (targetSizes is not null && targetSizes.Count != batch)
            throw new ArgumentException($"{targetSizes.Count} target sizes for a batch of {batch}");
        var results = new List<PostProcessedDepth>(batch);
        for (int b = 0; b < batch; b++)
        {
            var depth = new Tensor(predictedDepth.Data.AsSpan(b * h * w, h * w).ToArray(), 1, 1, h, w);
            double? fov = fieldOfView is null ? null : fieldOfView.Data[b];
            double? focal = null;
            if (targetSizes is not null)
            {
                var (th, tw) = targetSizes[b];
                focal = focalLengthOverride?[b];
                // float32 throughout, as the reference computes it on float tensors.
                if (focal is null && fov is double degrees)
                    focal = 0.5f * tw / MathF.Tan(0.5f * ((float)degrees * (float)(Math.PI / 180.0)));
                if (focal is double f)
                {
                    // Canonical inverse depth to inverse metric depth: depth · width / focal length.
                    var d = depth.Data;
                    float ff = (float)f;
                    for (int i = 0; i < d.Length; i++) d[i] = d[i] * tw / ff;
                }
                depth = Ops.Interpolate(depth, th, tw, resample, alignCorners: false);
            }
            var data = depth.Data;
            for (int i = 0; i < data.Length; i++) data[i] = 1f / Math.Clamp(data[i], 1e-4f, 1e4f);
            results.Add(new PostProcessedDepth(depth.Reshape(depth.Dim(2), depth.Dim(3)), fov, focal));
        }
        return results;
    }
}
