using DepthSharp.Processing;

namespace DepthSharp.Pipeline;

/// <summary>Settings of a <see cref="DepthEstimator"/>; each family reads the ones that apply to it.</summary>
public sealed record DepthEstimatorOptions
{
    /// <summary>Overrides the config's use_fov_model (DepthPro; null keeps it).</summary>
    public bool? UseFovModel { get; init; }

    /// <summary>
    /// Use the EXIF 35 mm-equivalent focal length when the picture has one: DepthPro scales its depth by it instead of its
    /// FOV estimate; other models report it (intrinsics, point clouds).
    /// </summary>
    public bool PreferExifFocalLength { get; init; } = true;

    /// <summary>Average with the output for the horizontally flipped picture, as the original ZoeDepth does (ZoeDepth).</summary>
    public bool FlipAverage { get; init; }

    /// <summary>
    /// The camera's focal length in pixels of the picture as given, known to the user: DepthPro scales its depth by it
    /// instead of EXIF or its FOV head, and other models report it for point clouds.
    /// </summary>
    public double? FocalLengthPixels { get; init; }

    /// <summary>
    /// Quantise the linear layers' weights to 8 bits per output feature as they load (<see cref="Tensors.Int8Weight"/>):
    /// a quarter of their float32 memory, computed in float32; the depth moves by the weights' rounding (see BENCHMARKS.md).
    /// </summary>
    public bool Int8Weights { get; init; }

    /// <summary>
    /// The image processor: the class preprocessor_config.json names (<see cref="ImageProcessorKind.Auto"/>), or
    /// transformers' slow or fast one forced; for DPT and Depth Anything their pixel values differ (see <see cref="DPTImageProcessorFast"/>).
    /// </summary>
    public ImageProcessorKind ImageProcessor { get; init; }

    /// <summary>
    /// Overrides the processor's <c>size</c> (preprocessor_config.json) for families whose processor resizes (Depth
    /// Anything, DPT, ZoeDepth): the processor's own keep_aspect_ratio and ensure_multiple_of rules still apply, so with
    /// keep_aspect_ratio a square size sets the side that changes least (a large photo's shorter side). Memory and time
    /// grow with it. DepthPro refuses it. Null keeps the config's size.
    /// </summary>
    public InputSize? InputSize { get; init; }
}

/// <summary>A processor <c>size</c>: the height and width pictures are resized towards.</summary>
/// <param name="Height">Rows.</param>
/// <param name="Width">Columns.</param>
public sealed record InputSize(int Height, int Width)
{
    /// <summary>"HxW".</summary>
    public override string ToString() => $"{Height}x{Width}";
}
