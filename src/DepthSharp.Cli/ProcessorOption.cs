using System.CommandLine;
using DepthSharp.Processing;

namespace DepthSharp.Cli;

/// <summary>The --processor option estimate, preprocess and serve share.</summary>
internal static class ProcessorOption
{
    public static Option<ImageProcessorKind> Create() => new("--processor")
    {
        Description = "Image processor: the class preprocessor_config.json names (auto), or transformers' slow (Pillow) or fast (torchvision) one; "
            + "DPT, Depth Anything, Prompt Depth Anything and GLPN give different pixel values with each",
        DefaultValueFactory = _ => ImageProcessorKind.Auto,
    };
}
