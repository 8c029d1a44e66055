using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' ZoeDepthImageProcessor: rescale to float, reflect-pad by int(√(h/2)·3) rows and int(√(w/2)·3) columns
/// at the picture's own resolution, resize (align_corners true) towards the configured size keeping the aspect ratio if
/// asked and rounding to a multiple, then normalise.
/// </summary>
public sealed class ZoeDepthImageProcessor : IImageProcessor<ZoeDepthImageProcessor>
{
    /// <inheritdoc/>
    public static IReadOnlyList<string> ImageProcessorTypes { get; } = ["ZoeDepthImageProcessor", "ZoeDepthImageProcessorFast"];

    /// <inheritdoc/>
    public static ZoeDepthImageProcessor Create(ImageProcessorConfig config, string? file) => new(config, file);

    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly string? _file;
    /// <summary>The fields it was made from.</summary>
    public ImageProcessorConfig Config { get; }

    /// <summary>size["height"]: the target height in pixels (default 384).</summary>
    public int Height { get; }

    /// <summary>size["width"]: the target width in pixels (default 512).</summary>
    public int Width { get; }

    /// <summary>resample as torch's mode for the float resize: 2 bilinear (the default), 3 bicubic.</summary>
    public InterpolationMode Resample { get; }

    /// <summary>do_pad: reflect-pad the picture before resizing (<see cref="Padding"/>; default true).</summary>
    public bool DoPad { get; }

    /// <summary>keep_aspect_ratio: scale both sides by the factor closer to 1 (default true).</summary>
    public bool KeepAspectRatio { get; }

    /// <summary>ensure_multiple_of: the resized sides are rounded (half to even) to a multiple of this (default 32).</summary>
    public int EnsureMultipleOf { get; }

    /// <summary>The processor for preprocessor_config.json's fields; unset fields take the reference class's defaults.</summary>
    /// <param name="config">The fields (an empty config: every default).</param>
    /// <param name="file">The file they came from, named in errors; null when none.</param>
    /// <exception cref="ConfigException">size lacks height or width or is not positive, resample is not a filter the class takes, image_mean or image_std has other than 1 or 3 values or a zero std, or ensure_multiple_of is not positive.</exception>
    public ZoeDepthImageProcessor(ImageProcessorConfig config, string? file = null)
    {
        Config = config;
        _file = file;
        (Height, Width) = config.HeightWidth(384, 512, file);
        Resample = PilResample.ToTorch(config.Resample ?? 2, file);
        DoPad = config.DoPad ?? true;
        KeepAspectRatio = config.KeepAspectRatio ?? true;
        EnsureMultipleOf = config.EnsureMultipleOfOr(32, file);
        _mean = Channels(config.ImageMean, "image_mean", file);
        _std = Channels(config.ImageStd, "image_std", file);
        if (_std.Any(s => s == 0)) throw new ConfigException(file, "image_std: must not be zero");
    }

    private static float[] Channels(List<double>? values, string field, string? file)
    {
        // ImageNet "standard" mean and std (0.5) are the reference's defaults.
        if (values is null) return [0.5f, 0.5f, 0.5f];
        if (values.Count == 1) return [(float)values[0], (float)values[0], (float)values[0]];
        if (values.Count != 3) throw new ConfigException(file, $"{field}: expected 3 values, got {values.Count}");
        return values.Select(v => (float)v).ToArray();
    }

    /// <summary>Rows and columns of reflection added on each side of a picture of height × width (also removed in post-processing).</summary>
    /// <param name="height">The picture's height in pixels.</param>
    /// <param name="width">The picture's width in pixels.</param>
    public static (int Rows, int Columns) Padding(int height, int width) =>
        ((int)(Math.Sqrt(height / 2.0) * 3), (int)(Math.Sqrt(width / 2.0) * 3));

    /// <summary>The [H, W] of the pixel values for a picture of height × width.</summary>
    /// <param name="height">The picture's height in pixels.</param>
    /// <param name="width">The picture's width in pixels.</param>
    /// <exception cref="ArgumentException">The picture is so small that it resizes to nothing.</exception>
    public (int Height, int Width) OutputSize(int height, int width)
    {
        int pictureHeight = height, pictureWidth = width;
        if (DoPad)
        {
            var (rows, columns) = Padding(height, width);
            height += 2 * rows;
            width += 2 * columns;
        }
        if (!Config.DoResize) return (height, width);
        double scaleH = (double)Height / height, scaleW = (double)Width / width;
        // Keeping the aspect ratio scales both sides by whichever factor is closer to 1.
        if (KeepAspectRatio)
        {
            if (Math.Abs(1 - scaleW) < Math.Abs(1 - scaleH)) scaleH = scaleW;
            else scaleW = scaleH;
        }
        // numpy's round: halves to even, as Math.Round does by default.
        int Multiple(double v) => (int)(Math.Round(v / EnsureMultipleOf) * EnsureMultipleOf);
        int outH = Multiple(scaleH * height), outW = Multiple(scaleW * width);
        ImageProcessorConfig.CheckOutput(_file, pictureWidth, pictureHeight, outH, outW);
        return (outH, outW);
    }

    /// <summary>The size <see cref="OutputSize"/> gives, without preprocessing the picture.</summary>
    /// <param name="image">The picture.</param>
    public (int Height, int Width) InputSize(RgbImage image) => OutputSize(image.Height, image.Width);

    /// <summary>The pixel_values [batch, 3, H, W] of the pictures, in order, as the reference's processor gives them.</summary>
    /// <param name="images">One or more pictures that come out at the same size.</param>
    /// <exception cref="ArgumentException">No pictures, pictures whose pixel values differ in size, or a picture too small to resize.</exception>
    public Tensor Preprocess(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0) throw new ArgumentException("no images");
        var parts = images.Select(ProcessOne).ToArray();
        if (parts.Any(p => p.Dim(2) != parts[0].Dim(2) || p.Dim(3) != parts[0].Dim(3)))
            throw new ArgumentException("pictures whose pixel values differ in size cannot form one batch: "
                + string.Join(", ", parts.Select(p => $"{p.Dim(2)}x{p.Dim(3)}")));
        return parts.Length == 1 ? parts[0] : Ops.Concat(0, parts);
    }

    private Tensor ProcessOne(RgbImage image)
    {
        var x = Rescale(image);
        if (DoPad) x = ReflectPad(x);
        if (Config.DoResize)
        {
            var (h, w) = OutputSize(image.Height, image.Width);
            x = Ops.Interpolate(x, h, w, Resample, alignCorners: true);
        }
        if (Config.DoNormalize) Normalize(x);
        return x;
    }

    /// <summary>[1, 3, H, W] float32; the reference multiplies in float64 and stores float32.</summary>
    private Tensor Rescale(RgbImage image)
    {
        int plane = image.Height * image.Width;
        var t = Tensor.Empty(1, 3, image.Height, image.Width);
        var px = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            var dst = t.Data.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++)
                dst[i] = Config.DoRescale ? (float)(px[i * 3 + c] * Config.RescaleFactor) : px[i * 3 + c];
        }
        return t;
    }

    /// <summary>numpy's "reflect" padding (mirror without repeating the edge; pads wider than the picture keep mirroring).</summary>
    private static Tensor ReflectPad(Tensor x)
    {
        int h = x.Dim(2), w = x.Dim(3);
        var (rows, columns) = Padding(h, w);
        int outH = h + 2 * rows, outW = w + 2 * columns;
        var y = Tensor.Empty(1, 3, outH, outW);
        var sourceColumn = new int[outW];
        for (int ox = 0; ox < outW; ox++) sourceColumn[ox] = Reflect(ox - columns, w);
        for (int c = 0; c < 3; c++)
            for (int oy = 0; oy < outH; oy++)
            {
                var src = x.Data.AsSpan((c * h + Reflect(oy - rows, h)) * w, w);
                var dst = y.Data.AsSpan((c * outH + oy) * outW, outW);
                for (int ox = 0; ox < outW; ox++) dst[ox] = src[sourceColumn[ox]];
            }
        return y;
    }

    /// <summary>Index i of the mirror extension (period 2(n-1)) of a run of n; a single sample repeats, as numpy does.</summary>
    private static int Reflect(int i, int n)
    {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        int m = Math.Abs(i) % period;
        return m < n ? m : period - m;
    }

    private void Normalize(Tensor x)
    {
        int plane = x.Dim(2) * x.Dim(3);
        for (int c = 0; c < 3; c++)
        {
            var span = x.Data.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++) span[i] = (span[i] - _mean[c]) / _std[c];
        }
    }
}
