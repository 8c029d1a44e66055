namespace DepthSharp.Imaging;

/// <summary>Limits and switches shared by every decoder.</summary>
public sealed record ImageDecodeOptions
{
    /// <summary>Pictures with more pixels than this are refused before any pixel buffer is allocated.</summary>
    public long MaxPixels { get; init; } = 100_000_000;

    /// <summary>Turn the picture upright according to its EXIF orientation tag.</summary>
    public bool ApplyExifOrientation { get; init; } = true;

    /// <summary>The defaults: at most 100 million pixels, EXIF orientation applied.</summary>
    public static ImageDecodeOptions Default { get; } = new();
}
