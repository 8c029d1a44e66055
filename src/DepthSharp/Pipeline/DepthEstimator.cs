using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Processing;
using DepthSharp.Tensors;

namespace DepthSharp.Pipeline;

/// <summary>
/// A model folder (config.json, preprocessor_config.json, weights) ready to turn pictures into depth. It does what every
/// family shares: picks the family by model_type (<see cref="ModelFamilies"/>), loads its processor and model, preprocesses,
/// runs the family's forward pass and post-processing, builds the results (kind, colouring, the user's focal length),
/// batches pictures by input size and reports progress.
/// </summary>
public sealed class DepthEstimator
{
    private readonly DepthEstimatorOptions _options;
    private readonly string _modelFolder;

    private DepthEstimator(DepthModelFamily family, IImageProcessor processor, DepthModel model, DepthEstimatorOptions options, string modelFolder)
    {
        Family = family;
        Processor = processor;
        Model = model;
        _options = options;
        _modelFolder = modelFolder;
    }

    /// <summary>The model's family (its descriptor).</summary>
    public DepthModelFamily Family { get; }

    /// <summary>config.json's model_type.</summary>
    public string ModelType => Family.ModelType;

    /// <summary>The image processor: preprocessor_config.json's, or the family's default.</summary>
    public IImageProcessor Processor { get; }

    /// <summary>The family's loaded model.</summary>
    internal DepthModel Model { get; }

    /// <summary>Progress steps of one estimate.</summary>
    public int ForwardSteps => Model.ForwardSteps;

    /// <summary>Loads a model folder strictly: every missing, unused or misshapen tensor is reported by name.</summary>
    /// <exception cref="ConfigException">The folder, its config or its processor config is missing, unsupported or impossible.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the model.</exception>
    /// <param name="modelDir">The model folder: config.json, weights, and optionally preprocessor_config.json.</param>
    /// <param name="options">Model behaviour; null: the defaults.</param>
    public static DepthEstimator Load(string modelDir, DepthEstimatorOptions? options = null)
    {
        options ??= new DepthEstimatorOptions();
        return Load(modelDir, new PretrainedOptions { Int8Weights = options.Int8Weights }, options);
    }

    /// <summary>
    /// The architecture of a model folder's config.json with random weights (benchmarks; no checkpoint needed); with
    /// <paramref name="halfWeights"/>, the linear layers' matrices are kept in that format as from a half-width checkpoint.
    /// </summary>
    internal static DepthEstimator LoadRandom(string modelDir, int seed = 0, DepthEstimatorOptions? options = null, HalfKind? halfWeights = null)
    {
        options ??= new DepthEstimatorOptions();
        return Load(modelDir, new PretrainedOptions { Int8Weights = options.Int8Weights, RandomWeightsSeed = seed, RandomHalfWeights = halfWeights }, options);
    }

    private static DepthEstimator Load(string modelDir, PretrainedOptions weights, DepthEstimatorOptions options)
    {
        var family = ModelFamilies.ForFolder(modelDir);
        // The processor first: its config's errors are found before the weights are read.
        var processor = ModelFamilies.LoadProcessor(family, modelDir, options.ImageProcessor, options.InputSize);
        return new DepthEstimator(family, processor, family.Load(modelDir, processor, weights, options), options, modelDir);
    }

    /// <summary>The processor's pixel values [B, 3, H, W] for pictures (what `preprocess` writes).</summary>
    /// <param name="images">Pictures that come out at the same size (see <see cref="Batches"/>).</param>
    /// <exception cref="ArgumentException">No pictures, or pictures whose pixel values differ in size.</exception>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images) => Processor.Preprocess(images);

    /// <summary>[H, W] of the model input for a picture: pictures form one batch only when theirs agree.</summary>
    /// <param name="image">The picture.</param>
    public (int Height, int Width) InputSize(RgbImage image) => Processor.InputSize(image);

    /// <summary>
    /// The pictures as batches the model can run: all of them when their model inputs have the same size, else each alone.
    /// <paramref name="sizes"/> receives each picture's input size (to say why).
    /// </summary>
    /// <param name="images">The pictures.</param>
    /// <param name="sizes">Receives each picture's model input size [H, W].</param>
    /// <returns>Groups of indices into <paramref name="images"/>; every picture is in exactly one.</returns>
    public IReadOnlyList<int[]> Batches(IReadOnlyList<RgbImage> images, out IReadOnlyList<(int Height, int Width)> sizes)
    {
        sizes = images.Select(InputSize).ToList();
        var first = images.Count == 0 ? default : sizes[0];
        return images.Count <= 1 || sizes.All(s => s == first)
            ? [Enumerable.Range(0, images.Count).ToArray()]
            : Enumerable.Range(0, images.Count).Select(i => new[] { i }).ToList();
    }

    /// <summary>The family's forward pass(es) on pixel values alone (benchmarks time this): predicted depth [B, h, w] before post-processing.</summary>
    /// <param name="pixelValues">[B, 3, H, W] from <see cref="Preprocess"/>.</param>
    /// <param name="progress">Receives one report per forward-pass step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public Tensor Forward(Tensor pixelValues, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Model.ForwardDepth(new ModelInputs(pixelValues), progress, cancellationToken);

    /// <summary>
    /// The family's forward pass(es) on pixel values with each picture's extra input as <see cref="DepthInput.Extra"/> takes
    /// it (benchmarks of Prompt Depth Anything time this): predicted depth [B, h, w] before post-processing.
    /// </summary>
    /// <exception cref="ArgumentException">Extra inputs the family does not take, or a count other than the batch's.</exception>
    public Tensor Forward(Tensor pixelValues, IReadOnlyList<Tensor?> extra, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (extra.Count != pixelValues.Dim(0)) throw new ArgumentException($"{extra.Count} extra inputs for a batch of {pixelValues.Dim(0)}", nameof(extra));
        return Model.ForwardDepth(new ModelInputs(pixelValues, ExtraInputs(extra)), progress, cancellationToken);
    }

    /// <summary>Depth for one picture at its own size.</summary>
    /// <param name="image">The decoded picture; its EXIF focal length is used when the options allow.</param>
    /// <param name="progress">Receives one report per forward-pass step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public DepthResult Estimate(LoadedImage image, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Estimate([new DepthInput(image)], progress, cancellationToken)[0];

    /// <summary>Depth for pictures whose model inputs have the same size (see <see cref="Batches"/>), run as one batch.</summary>
    /// <param name="images">The decoded pictures.</param>
    /// <param name="progress">Receives one report per forward-pass step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ArgumentException">No pictures, or pictures whose model inputs differ in size.</exception>
    public IReadOnlyList<DepthResult> Estimate(IReadOnlyList<LoadedImage> images, IProgress<ModelProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Estimate(images.Select(i => new DepthInput(i)).ToList(), progress, cancellationToken);

    /// <summary>Depth for pictures, each with the extra input the family may take (<see cref="DepthModelFamily.ExtraInput"/>), run as one batch.</summary>
    /// <param name="inputs">The pictures with their extra inputs.</param>
    /// <param name="progress">Receives one report per forward-pass step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="ArgumentException">No pictures, pictures whose model inputs differ in size, or an extra input the family does not take (or lacks one it requires).</exception>
    public IReadOnlyList<DepthResult> Estimate(IReadOnlyList<DepthInput> inputs, IProgress<ModelProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        if (inputs.Count == 0) throw new ArgumentException("no pictures", nameof(inputs));
        // Whether each picture has the extra input its family takes is checked before the pictures are preprocessed,
        // which a refusal would waste; the family checks the values themselves.
        var extra = ExtraInputs(inputs.Select(i => i.Extra).ToList());
        var pixelValues = Processor.Preprocess(inputs.Select(i => i.Picture.Image).ToList());
        var depths = Model.Estimate(new ModelInputs(pixelValues, extra), inputs, progress, cancellationToken);
        if (depths.Count != inputs.Count) throw new InvalidOperationException($"{ModelType} gave {depths.Count} depth maps for {inputs.Count} pictures");
        for (int b = 0; b < depths.Count; b++)
            ModelOutputException.ThrowIfNotFinite(_modelFolder, depths.Count > 1 ? b : null, depths[b].Depth.Data, depths[b].FieldOfView, depths[b].FocalLength);
        return depths.Select((d, b) => Result(d, inputs[b].Picture)).ToList();
    }

    /// <summary>The pictures' extra inputs as the family takes them: null when none is given.</summary>
    private List<Tensor?>? ExtraInputs(IReadOnlyList<Tensor?> extra)
    {
        var spec = Family.ExtraInput;
        bool any = extra.Any(e => e is not null);
        if (spec is null && any)
            throw new ArgumentException($"{ModelType} models take no input besides the picture (" +
                string.Join("; ", ModelFamilies.All.Where(f => f.ExtraInput is not null).Select(f => $"a {f.ExtraInput!.Name} goes with {f.ModelType} models")) + ")",
                nameof(extra));
        if (spec is { Required: true } && extra.Any(e => e is null))
            throw new ArgumentException($"{ModelType} models need a {spec.Name} with every picture (the reference refuses to run without one)", nameof(extra));
        return any ? extra.ToList() : null;
    }

    private DepthResult Result(PictureDepth d, LoadedImage loaded)
    {
        var picture = loaded.Image;
        if (d.Depth.Length != (long)picture.Width * picture.Height)
            throw new InvalidOperationException($"{ModelType} post-processing gave {d.Depth} for a {picture.Width}x{picture.Height} picture");
        var result = new DepthResult(d.Depth.Data, picture.Width, picture.Height, d.Kind, d.FieldOfView, d.FocalLength, d.FocalLengthSource, d.Domain)
        {
            Coloring = Family.ColoringFor(d.Kind),
        };
        // The focal length in use, user > EXIF > the model's own, is reported by every family (DepthPro has already
        // scaled its depth by it); the others have none of their own and take EXIF's for intrinsics and point clouds.
        if (_options.FocalLengthPixels is double f && result.FocalLengthSource != FocalLengthSource.User)
            return result with { FocalLength = f, FocalLengthSource = FocalLengthSource.User };
        if (result.FocalLength is null && _options.PreferExifFocalLength && loaded.ExifFocalLengthPixels is double exif)
            return result with { FocalLength = exif, FocalLengthSource = FocalLengthSource.Exif };
        return result;
    }
}
