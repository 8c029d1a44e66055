using DepthSharp.Imaging;
using DepthSharp.Models;
using DepthSharp.Pipeline;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace DepthSharp.ImageSharp;

/// <summary>
/// DepthSharp with SixLabors.ImageSharp images: pictures in as any <see cref="Image{TPixel}"/>, depth out as a 16-bit
/// grey <see cref="Image{L16}"/> or a coloured <see cref="Image{Rgb24}"/>. Pixels are taken as they are: call ImageSharp's
/// <c>AutoOrient()</c> first for a photo with an EXIF orientation, and DepthPro, given no EXIF, uses its field-of-view head.
/// </summary>
public static class ImageSharpDepth
{
    /// <summary>The picture's pixels as DepthSharp's 8-bit RGB (other pixel types are converted by ImageSharp, alpha dropped).</summary>
    /// <typeparam name="TPixel">The image's pixel type.</typeparam>
    /// <param name="image">The picture.</param>
    public static RgbImage ToRgbImage<TPixel>(this Image<TPixel> image) where TPixel : unmanaged, IPixel<TPixel>
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image is Image<Rgb24> rgb) return CopyRgb(rgb);
        using var converted = image.CloneAs<Rgb24>();
        return CopyRgb(converted);
    }

    /// <summary>DepthSharp's 8-bit RGB picture as an ImageSharp image (a copy).</summary>
    /// <param name="image">The picture.</param>
    public static Image<Rgb24> ToImageSharp(this RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Image.LoadPixelData<Rgb24>(image.Pixels, image.Width, image.Height);
    }

    /// <summary>Depth for an ImageSharp picture, as <see cref="DepthPipeline.Estimate(RgbImage, IProgress{ModelProgress}?, CancellationToken)"/> gives it.</summary>
    /// <typeparam name="TPixel">The image's pixel type.</typeparam>
    /// <param name="pipeline">The loaded model.</param>
    /// <param name="image">The picture, upright.</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked between the forward pass's steps.</param>
    public static DepthEstimate Estimate<TPixel>(this DepthPipeline pipeline, Image<TPixel> image, IProgress<ModelProgress>? progress = null,
        CancellationToken cancellationToken = default) where TPixel : unmanaged, IPixel<TPixel>
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        return pipeline.Estimate(image.ToRgbImage(), progress, cancellationToken);
    }

    /// <summary>
    /// Depth for an ImageSharp picture on the thread pool, as <see cref="DepthPipeline.EstimateAsync(RgbImage, IProgress{ModelProgress}?, CancellationToken)"/>
    /// gives it. The image must not change until the task completes.
    /// </summary>
    /// <typeparam name="TPixel">The image's pixel type.</typeparam>
    /// <param name="pipeline">The loaded model.</param>
    /// <param name="image">The picture, upright.</param>
    /// <param name="progress">Receives one report per forward-pass step.</param>
    /// <param name="cancellationToken">Checked before the pixels are copied, before the forward pass and between its steps.</param>
    public static Task<DepthEstimate> EstimateAsync<TPixel>(this DepthPipeline pipeline, Image<TPixel> image, IProgress<ModelProgress>? progress = null,
        CancellationToken cancellationToken = default) where TPixel : unmanaged, IPixel<TPixel>
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(image);
        return Task.Run(() => pipeline.EstimateAsync(image.ToRgbImage(), progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The depth as a 16-bit grey image, as the tool's <c>png16</c> output (<see cref="DepthExport.Png16"/>): metric depth
    /// in millimetres (rounded half to even, clamped to 0..65535, so up to 65.535 m; non-finite values give 0); relative
    /// depth stretched over its own minimum..maximum to 0..65535.
    /// </summary>
    /// <param name="depth">A depth result.</param>
    public static Image<L16> ToL16Image(this DepthResult depth)
    {
        ArgumentNullException.ThrowIfNull(depth);
        ushort[] samples = DepthExport.Png16(depth);
        var image = new Image<L16>(depth.Width, depth.Height);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++) row[x] = new L16(samples[y * depth.Width + x]);
            }
        });
        return image;
    }

    /// <summary>
    /// The depth coloured as the tool's <c>color</c> output and the web page (<see cref="DepthExport.Colorize"/>): near is
    /// warm, drawn as the result's family draws it (<see cref="DepthResult.Coloring"/>), over the map's own range.
    /// </summary>
    /// <param name="depth">A depth result.</param>
    /// <param name="colormap">The colour map (turbo by default).</param>
    public static Image<Rgb24> ToColorImage(this DepthResult depth, Colormap colormap = Colormap.Turbo)
    {
        ArgumentNullException.ThrowIfNull(depth);
        var coloured = DepthExport.Colorize(depth, colormap);
        return coloured.ToImageSharp();
    }

    private static RgbImage CopyRgb(Image<Rgb24> image)
    {
        var pixels = new byte[(long)image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return new RgbImage(image.Width, image.Height, pixels);
    }
}
