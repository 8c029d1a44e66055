using System.CommandLine;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Cli;

/// <summary>
/// The options estimate and worker share: the model, how pictures are read and what is written for each. Both commands
/// take them from here, so one command line's recipe (see Batch.Recipe) is the same under either and their outputs are
/// interchangeable.
/// </summary>
internal sealed class PictureOptions
{
    private readonly Option<string> _model = HubCommands.ModelOption();
    private readonly Option<int?> _threads = new("--threads") { Description = "Worker threads (default: all cores)" };
    private readonly Option<bool> _noFov = new("--no-fov") { Description = "Do not run the field-of-view head" };
    private readonly Option<bool> _noExif = new("--no-exif-focal") { Description = "Use the model's field of view even when EXIF gives a focal length" };
    private readonly Option<bool> _noOrient = new("--no-exif-orientation") { Description = "Keep pictures as stored instead of turning them upright" };
    private readonly Option<string[]> _formats = new("--format")
    {
        Description = "Outputs besides <stem>.json: npy, pfm, png16 (millimetres when metric), gray8 (the pipeline's picture), color, side-by-side, ply (metric models: coloured point cloud in metres)",
        DefaultValueFactory = _ => ["npy", "color"],
        AllowMultipleArgumentsPerToken = true,
    };
    private readonly Option<Colormap> _colormap = new("--colormap") { Description = "Colours for color and side-by-side (turbo over inverse depth by default)", DefaultValueFactory = _ => Colormap.Turbo };
    private readonly Option<bool> _flip = new("--flip") { Description = "Average with the pass on the horizontally flipped picture (ZoeDepth; twice the time)" };
    private readonly Option<double?> _focalLength = new("--focal-length") { Description = "The camera's focal length in pixels (DepthPro scales its depth by it; every model's JSON and point cloud use it)" };
    private readonly Option<double?> _plyScale = new("--ply-scale") { Description = "For relative models: metres per unit of depth (inverse-depth models: metres × disparity) so that --format ply can write a point cloud" };
    private readonly Option<bool> _int8 = new("--int8-weights") { Description = "Quantise the linear layers' weights to 8 bits as they load: less memory, slightly different depth" };
    private readonly Option<ImageProcessorKind> _processor = ProcessorOption.Create();

    public PictureOptions()
    {
        _focalLength.Validators.Add(r => { if (r.GetValue(_focalLength) is double f && !(f > 0)) r.AddError("--focal-length must be positive"); });
        _plyScale.Validators.Add(r => { if (r.GetValue(_plyScale) is double v && !(v > 0)) r.AddError("--ply-scale must be positive"); });
        _formats.Validators.Add(r =>
        {
            foreach (var f in r.GetValue(_formats) ?? [])
                if (!OutputWriter.Formats.Contains(f)) r.AddError($"--format '{f}' is not one of {string.Join(", ", OutputWriter.Formats)}");
        });
    }

    /// <summary>Adds the options to the command.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _model, _threads, _noFov, _noExif, _noOrient, _formats, _colormap, _flip, _focalLength, _plyScale, _int8, _processor })
            command.Options.Add(option);
    }

    /// <summary>The --model value as given.</summary>
    public string Model(ParseResult parse) => parse.GetValue(_model)!;

    /// <summary>Applies --threads and loads the model (fetching a Hub repo id), saying so on <paramref name="log"/>.</summary>
    public async Task<DepthEstimator> LoadEstimatorAsync(ParseResult parse, TextWriter log, CancellationToken cancellationToken, InputSize? inputSize = null)
    {
        if (parse.GetValue(_threads) is int t) KernelOptions.Threads = t;
        var options = new DepthEstimatorOptions
        {
            UseFovModel = parse.GetValue(_noFov) ? false : null,
            PreferExifFocalLength = !parse.GetValue(_noExif),
            FlipAverage = parse.GetValue(_flip),
            FocalLengthPixels = parse.GetValue(_focalLength),
            Int8Weights = parse.GetValue(_int8),
            ImageProcessor = parse.GetValue(_processor),
            InputSize = inputSize,
        };
        await log.WriteLineAsync($"loading {Model(parse)}");
        return DepthEstimator.Load(await HubCommands.ResolveAsync(Model(parse), cancellationToken), options);
    }

    /// <summary>How pictures are decoded.</summary>
    public ImageDecodeOptions Decode(ParseResult parse) => new() { ApplyExifOrientation = !parse.GetValue(_noOrient) };

    /// <summary>The writer of each picture's files.</summary>
    public OutputWriter Writer(ParseResult parse) => new(parse.GetValue(_formats)!, parse.GetValue(_colormap), parse.GetValue(_plyScale));
}
