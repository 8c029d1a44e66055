using DepthSharp.Models;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline.Families;

/// <summary>
/// ZoeDepth: metric depth from the bin head the router picks for each batch (or the only one), optionally averaged with
/// the pass on the flipped picture, with the processor's reflection padding cut off.
/// </summary>
internal sealed class ZoeDepthFamily : DepthModelFamily<ZoeDepthImageProcessor>
{
    public override string ModelType => "zoedepth";

    protected override DepthModel LoadModel(string folder, ZoeDepthImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options) =>
        new Model(ZoeDepthForDepthEstimation.FromPretrained(folder, weights), processor, options.FlipAverage);

    /// <summary>The pass on the pixel values and, when averaging, the pass on them flipped.</summary>
    private sealed record Passes(ZoeDepthOutput Output, ZoeDepthOutput? Flipped);

    private sealed class Model(ZoeDepthForDepthEstimation model, ZoeDepthImageProcessor processor, bool flipAverage) : DepthModel<Passes>
    {
        /// <summary>One forward pass, or two when averaging with the flipped picture.</summary>
        public override int ForwardSteps => model.ForwardSteps * (flipAverage ? 2 : 1);

        protected override Passes Forward(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken)
        {
            var output = model.Forward(inputs.PixelValues, progress, cancellationToken);
            if (!flipAverage) return new Passes(output, null);
            // The flipped pass routes its own batch, as the reference does when called on the flipped pixel values.
            var after = progress is null ? null : new OffsetProgress(progress, model.ForwardSteps);
            return new Passes(output, model.Forward(Ops.FlipLastDim(inputs.PixelValues), after, cancellationToken));
        }

        protected override Tensor PredictedDepth(Passes output) => output.Output.PredictedDepth;

        protected override IReadOnlyList<PictureDepth> PostProcess(Passes output, IReadOnlyList<DepthInput> pictures) =>
            ZoeDepthPostProcessor.Process(output.Output.PredictedDepth, Sizes(pictures), flippedDepth: output.Flipped?.PredictedDepth,
                    removePadding: processor.DoPad)
                .Select(d => new PictureDepth(d, DepthKind.Metric) { Domain = output.Output.Domain }).ToList();
    }
}
