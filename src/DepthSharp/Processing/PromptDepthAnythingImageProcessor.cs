using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>A processor's outputs for one batch: pixel_values [B, 3, H, W] and, when prompts were given, prompt_depth [B, 1, h, w] in metres.</summary>
public sealed record PromptDepthAnythingInputs(Tensor PixelValues, Tensor? PromptDepth);

/// <summary>
/// transformers' PromptDepthAnythingImageProcessor. Pictures go the way DPT's processor takes them (Pillow resize with
/// keep_aspect_ratio and ensure_multiple_of, rescale, normalise, optional centre padding to size_divisor), which this
/// class composes. Each prompt depth map [h, w], raw as stored (millimetres for a phone's depth), is multiplied by
/// prompt_scale_to_meter and batched as [B, 1, h, w], never resized: the model resizes it to each fused map.
/// </summary>
/// <remarks>
/// One choice differs from the reference: a constant prompt (max = min) is refused with a <see cref="PromptDepthException"/>.
/// The reference adds 1e-6 to its first value so that the model's normalisation does not divide by zero, which makes the
/// output a flat map at that depth (and in float32 does nothing at all from 32 m up).
/// </remarks>
public sealed class PromptDepthAnythingImageProcessor : IImageProcessor<PromptDepthAnythingImageProcessor>
{
    /// <inheritdoc/>
    public static IReadOnlyList<string> ImageProcessorTypes { get; } = [nameof(PromptDepthAnythingImageProcessor), "PromptDepthAnythingImageProcessorFast"];

    /// <inheritdoc/>
    public static PromptDepthAnythingImageProcessor Create(ImageProcessorConfig config, string? file) => new(config, file);

    /// <inheritdoc/>
    public static IImageProcessor Create(ImageProcessorConfig config, string? file, ImageProcessorKind kind) =>
        kind.PicksFast(config.ImageProcessorType ?? nameof(PromptDepthAnythingImageProcessor))
            ? new PromptDepthAnythingImageProcessorFast(config, file)
            : new PromptDepthAnythingImageProcessor(config, file);

    /// <summary>The preprocessor_config.json values.</summary>
    public ImageProcessorConfig Config { get; }

    /// <summary>Multiplies a raw prompt into metres: 0.001 (millimetres) unless the config says otherwise.</summary>
    public double PromptScaleToMeter { get; }

    /// <summary>The picture path: DPT's processor on the same config.</summary>
    public DPTImageProcessor Images { get; }

    /// <summary>Validates the config; <paramref name="file"/> names it in <see cref="ConfigException"/>s.</summary>
    public PromptDepthAnythingImageProcessor(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        Images = new DPTImageProcessor(config, file);
        PromptScaleToMeter = ReadPromptScale(config, file);
    }

    /// <summary>The reference's default processor (384², mean and std 0.5, no aspect ratio kept, millimetre prompts).</summary>
    public PromptDepthAnythingImageProcessor() : this(new ImageProcessorConfig { ImageProcessorType = nameof(PromptDepthAnythingImageProcessor) }) { }

    // Absent: the reference's 0.001. Present, it must be a usable number: the reference multiplies by it as it stands.
    private static double ReadPromptScale(ImageProcessorConfig config, string? file)
    {
        if (config.Extra is null || !config.Extra.TryGetValue("prompt_scale_to_meter", out var value)) return 0.001;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double scale) || !double.IsFinite(scale) || scale <= 0)
            throw new ConfigException(file, $"prompt_scale_to_meter: must be a positive number, got {value.GetRawText()}");
        return scale;
    }

    /// <summary>The size a picture of <paramref name="inHeight"/> × <paramref name="inWidth"/> is resized to.</summary>
    public (int Height, int Width) OutputSize(int inHeight, int inWidth) => Images.OutputSize(inHeight, inWidth);

    /// <summary>pixel_values [B, 3, H, W] for pictures that all come out at the same size.</summary>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images) => Images.Preprocess(images);

    /// <summary>pixel_values and, when <paramref name="promptDepths"/> is given (one raw map [h, w] per picture), prompt_depth.</summary>
    public PromptDepthAnythingInputs Preprocess(IReadOnlyList<RgbImage> images, IReadOnlyList<Tensor>? promptDepths)
    {
        // The prompts are checked first: they are cheap to check, the pictures are not cheap to resize.
        var prompt = promptDepths is null ? null : PreprocessPromptDepth(promptDepths, images.Count);
        return new PromptDepthAnythingInputs(Preprocess(images), prompt);
    }

    /// <summary>
    /// prompt_depth [B, 1, h, w]: each raw map times prompt_scale_to_meter, in float32 as numpy multiplies a float32 array.
    /// </summary>
    /// <param name="promptDepths">One map [h, w] per picture, all of one size; raw values as stored.</param>
    /// <param name="pictures">How many pictures they go with, or null not to check.</param>
    /// <exception cref="PromptDepthException">A map that is not [h, w], of another size than the first, with a non-finite value or constant; or a count other than the pictures'.</exception>
    public Tensor PreprocessPromptDepth(IReadOnlyList<Tensor> promptDepths, int? pictures = null)
    {
        if (pictures is int n && promptDepths.Count != n)
            throw new PromptDepthException(null, $"{promptDepths.Count} prompt depth map(s) for {n} picture(s)");
        if (promptDepths.Count == 0) throw new PromptDepthException(null, "no prompt depth maps");
        var first = promptDepths[0];
        for (int i = 0; i < promptDepths.Count; i++)
        {
            var p = promptDepths[i];
            if (p.Rank != 2)
                throw new PromptDepthException(null, $"prompt depth {i} must be a map [height, width], got [{string.Join(", ", p.Shape)}]");
            if (i > 0 && !p.Shape.AsSpan().SequenceEqual(first.Shape))
                throw new PromptDepthException(null,
                    $"prompt depth {i} is {p.Dim(1)}x{p.Dim(0)}, prompt depth 0 is {first.Dim(1)}x{first.Dim(0)}: prompts of one batch must have one size");
        }
        int h = first.Dim(0), w = first.Dim(1), plane = h * w;
        float scale = (float)PromptScaleToMeter;
        var output = Tensor.Empty(promptDepths.Count, 1, h, w);
        for (int i = 0; i < promptDepths.Count; i++)
        {
            var dst = output.Data.AsSpan(i * plane, plane);
            var src = promptDepths[i].Data;
            for (int j = 0; j < plane; j++) dst[j] = src[j] * scale;
            PromptDepthValues.Range(dst, w, null, $"prompt depth {i}");
        }
        return output;
    }

    /// <summary>post_process_depth_estimation: each picture's depth resized bicubically to its target size (height, width), or as it is without one.</summary>
    public static List<Tensor> PostProcessDepthEstimation(Tensor predictedDepth, IReadOnlyList<(int Height, int Width)>? targetSizes) =>
        DPTPostProcessor.Process(predictedDepth, targetSizes);
}
