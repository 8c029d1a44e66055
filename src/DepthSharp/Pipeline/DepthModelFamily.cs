using DepthSharp.Models;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>
/// One model family's descriptor, registered once in <see cref="ModelFamilies.All"/>. It says what identifies the
/// family (config.json's model_type), which image processor class it takes, how its depth is drawn and whether it takes a
/// second input per picture, and it builds the family's model from a model folder. Everything the families share
/// (loading the processor, preprocessing, building the results, the user's focal length, batching by input size,
/// progress) is <see cref="DepthEstimator"/>'s. The families are DepthSharp's own (a new one is added inside the library:
/// docs/adding-a-model-family.md); users get them from <see cref="ModelFamilies"/> and <see cref="DepthEstimator.Family"/>.
/// </summary>
public abstract class DepthModelFamily
{
    /// <summary>The config.json model_type this family answers to (e.g. "depth_anything"); unique in the registry.</summary>
    public abstract string ModelType { get; }

    /// <summary>The preprocessor_config.json image_processor_type values the family takes.</summary>
    public abstract IReadOnlyList<string> ImageProcessorTypes { get; }

    /// <summary>
    /// The processor for a preprocessor_config.json whose image_processor_type is one of <see cref="ImageProcessorTypes"/>
    /// (<paramref name="file"/>: its path, for errors); an empty config gives the reference class's defaults, which a
    /// model folder without the file gets.
    /// </summary>
    /// <param name="config">The processor config's fields.</param>
    /// <param name="file">Its path, for errors.</param>
    /// <param name="kind">The flavour: the class the config names, or transformers' slow or fast one forced.</param>
    public abstract IImageProcessor CreateProcessor(ImageProcessorConfig config, string? file, ImageProcessorKind kind = ImageProcessorKind.Auto);

    /// <summary>
    /// The second input the family takes per picture besides it (<see cref="DepthInput.Extra"/>), or null when it takes
    /// none: the estimator then refuses pictures that come with one.
    /// </summary>
    public virtual ExtraInputSpec? ExtraInput => null;

    /// <summary>
    /// Why the family's input size cannot be changed (<see cref="DepthEstimatorOptions.InputSize"/>), or null when its
    /// processor's size can be overridden.
    /// </summary>
    public virtual string? FixedInputSizeReason => null;

    /// <summary>
    /// How this family's depth of a kind is drawn (<see cref="DepthResult.Coloring"/>, used by the CLI and the web page
    /// alike through <see cref="DepthExport"/>). Default: over inverse depth, so near is warm, as Apple's DepthPro tool shows it.
    /// Whether a result gives a point cloud follows from its kind and focal length (<see cref="DepthExport.PointCloudBlocker"/>).
    /// </summary>
    /// <param name="kind">The kind of a result.</param>
    public virtual DepthColoring ColoringFor(DepthKind kind) => DepthColoring.Inverse;

    /// <summary>
    /// The family's model from <paramref name="folder"/> (config.json and weights, through the model's FromPretrained with
    /// <paramref name="weights"/>), driven with <paramref name="processor"/> (made by <see cref="CreateProcessor"/>).
    /// </summary>
    internal abstract DepthModel Load(string folder, IImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options);
}

/// <summary>
/// A <see cref="DepthModelFamily"/> whose image processor class is <typeparamref name="TProcessor"/>: its
/// image_processor_type names and defaults come from the class.
/// </summary>
internal abstract class DepthModelFamily<TProcessor> : DepthModelFamily where TProcessor : class, IImageProcessor<TProcessor>
{
    /// <inheritdoc/>
    public sealed override IReadOnlyList<string> ImageProcessorTypes => TProcessor.ImageProcessorTypes;

    /// <inheritdoc/>
    public sealed override IImageProcessor CreateProcessor(ImageProcessorConfig config, string? file, ImageProcessorKind kind = ImageProcessorKind.Auto) =>
        TProcessor.Create(config, file, kind);

    // A fast flavour hands on its slow twin: the family's post-processing settings are the same in both.
    internal sealed override DepthModel Load(string folder, IImageProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options) =>
        LoadModel(folder, processor as TProcessor ?? ((IFastImageProcessor<TProcessor>)processor).Slow, weights, options);

    /// <summary>
    /// Loads the family's <c>*ForDepthEstimation.FromPretrained(folder, weights)</c> and wraps it as a
    /// <see cref="DepthModel{TOutput}"/> with what it needs of <paramref name="processor"/> and <paramref name="options"/>
    /// for its forward pass and post-processing.
    /// </summary>
    protected abstract DepthModel LoadModel(string folder, TProcessor processor, PretrainedOptions weights, DepthEstimatorOptions options);
}

/// <summary>
/// The second input a family takes per picture (e.g. Prompt Depth Anything's low-resolution metric depth "prompt").
/// </summary>
/// <param name="Name">What it is, for messages ("prompt depth").</param>
/// <param name="Required">Whether every picture must come with one.</param>
public sealed record ExtraInputSpec(string Name, bool Required);

/// <summary>What a forward pass reads: the processor's pixel values and, for families that take one, each picture's extra input.</summary>
/// <param name="PixelValues">[B, 3, H, W] from the family's processor.</param>
/// <param name="Extra">Per picture, the extra input given with it (null entries: none); null when no picture has one (and in benchmarks run without one).</param>
internal sealed record ModelInputs(Tensor PixelValues, IReadOnlyList<Tensor?>? Extra = null);

/// <summary>
/// One picture's post-processed depth as a family gives it: [H, W] at the picture's size, its kind, and the camera
/// estimate and domain head where the family has them. The estimator turns it into a <see cref="DepthResult"/>.
/// </summary>
internal sealed record PictureDepth(Tensor Depth, DepthKind Kind)
{
    /// <summary>Horizontal field of view in degrees, when the model estimates one.</summary>
    public double? FieldOfView { get; init; }

    /// <summary>Focal length in pixels of the picture, when known.</summary>
    public double? FocalLength { get; init; }

    /// <summary>Where <see cref="FocalLength"/> came from.</summary>
    public FocalLengthSource FocalLengthSource { get; init; }

    /// <summary>The domain head used (ZoeDepth), or null.</summary>
    public string? Domain { get; init; }
}

/// <summary>
/// A family's loaded model as <see cref="DepthEstimator"/> drives it. Derive from <see cref="DepthModel{TOutput}"/>.
/// </summary>
internal abstract class DepthModel
{
    /// <summary>Progress steps one estimate reports (all its forward passes).</summary>
    public abstract int ForwardSteps { get; }

    /// <summary>
    /// The forward pass(es) on pixel values and, for a family that takes one, each picture's extra input, as benchmarks time
    /// them: predicted depth [B, h, w] before post-processing.
    /// </summary>
    public abstract Tensor ForwardDepth(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken);

    /// <summary>Forward pass(es) and post-processing: one <see cref="PictureDepth"/> per picture, at its size.</summary>
    internal abstract IReadOnlyList<PictureDepth> Estimate(ModelInputs inputs, IReadOnlyList<DepthInput> pictures,
        IProgress<ModelProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>
/// A family's model whose forward step gives <typeparamref name="TOutput"/> (its *ForDepthEstimation output, or several
/// passes' outputs): the family plugs in the forward step and the post-processing, nothing else.
/// </summary>
internal abstract class DepthModel<TOutput> : DepthModel
{
    /// <summary>
    /// The model's forward pass(es), reporting <see cref="DepthModel.ForwardSteps"/> steps to <paramref name="progress"/>
    /// and checking <paramref name="cancellationToken"/> at each.
    /// </summary>
    protected abstract TOutput Forward(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken);

    /// <summary>The predicted depth [B, h, w] in an output, before post-processing.</summary>
    protected abstract Tensor PredictedDepth(TOutput output);

    /// <summary>
    /// The family's post_process_depth_estimation: each picture's depth at its size (<see cref="Sizes"/>) with its kind,
    /// in the pictures' order.
    /// </summary>
    protected abstract IReadOnlyList<PictureDepth> PostProcess(TOutput output, IReadOnlyList<DepthInput> pictures);

    /// <inheritdoc/>
    public sealed override Tensor ForwardDepth(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken) =>
        PredictedDepth(Forward(inputs, progress, cancellationToken));

    internal sealed override IReadOnlyList<PictureDepth> Estimate(ModelInputs inputs, IReadOnlyList<DepthInput> pictures,
        IProgress<ModelProgress>? progress, CancellationToken cancellationToken) =>
        PostProcess(Forward(inputs, progress, cancellationToken), pictures);

    /// <summary>Each picture's (height, width): the target sizes of post-processing.</summary>
    protected static List<(int Height, int Width)> Sizes(IReadOnlyList<DepthInput> pictures) =>
        pictures.Select(p => (p.Picture.Image.Height, p.Picture.Image.Width)).ToList();
}

/// <summary>
/// A model whose forward pass gives depth [B, h, w] of one kind that post-processing resizes bicubically to each picture
/// (DPTImageProcessor.post_process_depth_estimation): DPT, Depth Anything, GLPN and Prompt Depth Anything.
/// </summary>
/// <param name="forwardSteps">Progress steps of the forward pass.</param>
/// <param name="forward">The model's forward pass on the inputs (pixel values and any extra input).</param>
/// <param name="kind">The kind of every result.</param>
internal sealed class BicubicResizedDepthModel(int forwardSteps, Func<ModelInputs, IProgress<ModelProgress>?, CancellationToken, Tensor> forward, DepthKind kind)
    : DepthModel<Tensor>
{
    /// <summary>For a model whose forward pass takes the pixel values alone.</summary>
    public BicubicResizedDepthModel(int forwardSteps, Func<Tensor, IProgress<ModelProgress>?, CancellationToken, Tensor> forward, DepthKind kind)
        : this(forwardSteps, (ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken token) => forward(inputs.PixelValues, progress, token), kind) { }

    /// <inheritdoc/>
    public override int ForwardSteps => forwardSteps;

    /// <inheritdoc/>
    protected override Tensor Forward(ModelInputs inputs, IProgress<ModelProgress>? progress, CancellationToken cancellationToken) =>
        forward(inputs, progress, cancellationToken);

    /// <inheritdoc/>
    protected override Tensor PredictedDepth(Tensor output) => output;

    /// <inheritdoc/>
    protected override IReadOnlyList<PictureDepth> PostProcess(Tensor output, IReadOnlyList<DepthInput> pictures) =>
        DPTPostProcessor.Process(output, Sizes(pictures)).Select(d => new PictureDepth(d, kind)).ToList();
}

/// <summary>Reports a later forward pass's steps after the <paramref name="offset"/> steps of the passes before it.</summary>
internal sealed class OffsetProgress(IProgress<ModelProgress> inner, int offset) : IProgress<ModelProgress>
{
    public void Report(ModelProgress value) => inner.Report(value with { Step = value.Step + offset, TotalSteps = value.TotalSteps + offset });
}
