using DepthSharp.Models;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline.Families;

/// <summary>
/// DepthPro: metric depth scaled by the focal length from the user, EXIF or the field-of-view head; without any, its
/// canonical depth up to scale.
/// </summary>
internal sealed class DepthProFamily : DepthModelFamily<DepthProImageProcessor>
{
    public override string ModelType => "depth_pro";

    public override string FixedInputSizeReason =>
        "DepthPro's network is built for its configured input (1536x1536 for the released model): its encoder cuts the picture into fixed 384x384 patches at fixed scales, so the input size cannot be changed";

    protected override DepthModel LoadModel(string folder, DepthProImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options) =>
        new Model(DepthProForDepthEstimation.FromPretrained(folder, weights, options.UseFovModel), Path.Combine(folder, "config.json"), processor, options);

    private sealed class Model(DepthProForDepthEstimation model, string configPath, DepthProImageProcessor processor, DepthEstimatorOptions options)
        : DepthModel<DepthProOutput>
    {
        public override int ForwardSteps => model.ForwardSteps;

        protected override DepthProOutput Forward(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken) =>
            model.Forward(Checked(inputs.PixelValues), progress, cancellationToken);

        // The processor's size (or, without resizing, the picture's) against the config's patch scales: a ConfigException
        // naming config.json, not a failure inside the model.
        private Tensor Checked(Tensor pixelValues) =>
            DepthProPatchEncoder.InputProblem(model.Config, pixelValues.Dim(2), pixelValues.Dim(3)) is string problem
                ? throw new ConfigException(configPath, $"{problem} (the input's size comes from preprocessor_config.json)")
                : pixelValues;

        protected override Tensor PredictedDepth(DepthProOutput output) => output.PredictedDepth;

        protected override IReadOnlyList<PictureDepth> PostProcess(DepthProOutput output, IReadOnlyList<DepthInput> pictures)
        {
            // The user's focal length first, then EXIF's (unless switched off), else the FOV head's estimate.
            var known = pictures.Select(p => options.FocalLengthPixels ?? (options.PreferExifFocalLength ? p.Picture.ExifFocalLengthPixels : null)).ToList();
            var post = DepthProPostProcessor.Process(output.PredictedDepth, output.FieldOfView, Sizes(pictures), processor.Resample, known);
            return post.Select((p, b) => new PictureDepth(p.PredictedDepth, p.FocalLength is null ? DepthKind.Relative : DepthKind.Metric)
            {
                FieldOfView = p.FieldOfView,
                FocalLength = p.FocalLength,
                FocalLengthSource = options.FocalLengthPixels is not null ? FocalLengthSource.User
                    : known[b] is not null ? FocalLengthSource.Exif : p.FocalLength is not null ? FocalLengthSource.Model : FocalLengthSource.None,
            }).ToList();
        }
    }
}
