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

    protected override DepthModel LoadModel(string folder, PromptDepthAnythingImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options) =>
        new Model(PromptDepthAnythingForDepthEstimation.FromPretrained(folder, weights), processor);

    private sealed class Model(PromptDepthAnythingForDepthEstimation model, PromptDepthAnythingImageProcessor processor) : DepthModel<Tensor>
    {
        public override int ForwardSteps => model.ForwardSteps;

        /// <summary>
        /// The raw prompts become prompt_depth [B, 1, h, w] in metres as the processor gives it; without prompts (benchmarks
        /// of the bare network) the model runs as the reference's does with prompt_depth=None.
        /// </summary>
        protected override Tensor Forward(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken)
        {
            var promptDepth = inputs.Extra is null
                ? null
                : processor.PreprocessPromptDepth(inputs.Extra.Select((p, i) => p ?? throw new PromptDepthException(null, $"picture {i} has no prompt depth")).ToList(),
                    inputs.PixelValues.Dim(0));
            return model.Forward(inputs.PixelValues, promptDepth, progress, cancellationToken);
        }

        protected override Tensor PredictedDepth(Tensor output) => output;

        // With a prompt the output is in the prompt's unit, metres, whichever ending depth_estimation_type picks.
        protected override IReadOnlyList<PictureDepth> PostProcess(Tensor output, IReadOnlyList<DepthInput> pictures) =>
            PromptDepthAnythingImageProcessor.PostProcessDepthEstimation(output, Sizes(pictures)).Select(d => new PictureDepth(d, DepthKind.Metric)).ToList();
    }
}
