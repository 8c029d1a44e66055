namespace DepthSharp.Processing;

/// <summary>
/// Which of transformers' two image processors prepares a model's pictures: the slow one (Pillow and numpy,
/// <c>DPTImageProcessor</c>) or the fast one (torch and torchvision, <c>DPTImageProcessorFast</c>). They differ for DPT
/// and Depth Anything (<see cref="DPTImageProcessorFast"/>), Prompt Depth Anything
/// (<see cref="PromptDepthAnythingImageProcessorFast"/>) and GLPN (<see cref="GLPNImageProcessorFast"/>); DepthPro's and
/// ZoeDepth's give the same values.
/// </summary>
public enum ImageProcessorKind
{
    /// <summary>The class preprocessor_config.json's image_processor_type names (a name ending in Fast: fast), as transformers picks it.</summary>
    Auto,

    /// <summary>The slow class, whatever the config names.</summary>
    Slow,

    /// <summary>The fast class, whatever the config names (transformers' use_fast=True).</summary>
    Fast,
}

/// <summary>The selection rule.</summary>
internal static class ImageProcessorKindExtensions
{
    /// <summary>Whether <paramref name="kind"/> picks the fast class for a config whose image_processor_type is <paramref name="imageProcessorType"/>.</summary>
    public static bool PicksFast(this ImageProcessorKind kind, string imageProcessorType) => kind switch
    {
        ImageProcessorKind.Auto => imageProcessorType.EndsWith("Fast", StringComparison.Ordinal),
        ImageProcessorKind.Slow => false,
        ImageProcessorKind.Fast => true,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an ImageProcessorKind"),
    };
}
