using DepthSharp.Models;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline.Families;

/// <summary>
/// Prompt Depth Anything: Depth Anything with a low-resolution metric depth "prompt" per picture (a phone's LiDAR map,
/// stored raw; the processor scales it to metres by prompt_scale_to_meter), which the model fuses into its decoder and
/// whose range scales its output. The depth comes out in metres and is resized bicubically to the picture.
/// </summary>
internal sealed class PromptDepthAnythingFamily : DepthModelFamily<PromptDepthAnythingImageProcessor>
{
    public override string ModelType => "prompt_depth_anything";

    /// <summary>Required: the reference's processor refuses a batch without one, and only the prompt gives the output its scale.</summary>
    public override ExtraInputSpec? ExtraInput { get; } = new("prompt depth", Required: true);

    /// <summary>Metric depth linearly, as for Depth Anything's metric checkpoints: the bicubic resize can reach zero, where an inverse blows up.</summary>
    public override DepthColoring ColoringFor(DepthKind kind) => DepthColoring.Linear;

    /// <summary>
    /// The raw prompts become prompt_depth [B, 1, h, w] in metres as the processor gives it; without prompts (benchmarks of
    /// the bare network) the model runs as the reference's does with prompt_depth=None. With a prompt the output is in the
    /// prompt's unit, metres, whichever ending depth_estimation_type picks.
    /// </summary>
    protected override DepthModel LoadModel(string folder, PromptDepthAnythingImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options)
    {
        var model = PromptDepthAnythingForDepthEstimation.FromPretrained(folder, weights);
        return new BicubicResizedDepthModel(model.ForwardSteps, (ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken) =>
        {
            // The estimator has refused a batch where a picture lacks its required prompt.
            var promptDepth = inputs.Extra is null ? null : processor.PreprocessPromptDepth(inputs.Extra.Select(p => p!).ToList(), inputs.PixelValues.Dim(0));
            return model.Forward(inputs.PixelValues, promptDepth, progress, cancellationToken);
        }, DepthKind.Metric);
    }
}
