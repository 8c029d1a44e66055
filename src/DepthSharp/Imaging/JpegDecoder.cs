namespace DepthSharp.Imaging;

/// <summary>A decoded JPEG file.</summary>
internal sealed class JpegImage
{
    internal JpegImage(RgbImage image, int components, byte[]? exifPayload)
    {
        Image = image;
        Components = components;
        ExifPayload = exifPayload;
    }

    /// <summary>The pixels as stored in the file (EXIF orientation not applied); gray is repeated into R, G and B.</summary>
    public RgbImage Image { get; }

    /// <summary>Colour components in the file: 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK).</summary>
    public int Components { get; }

    /// <summary>The TIFF data of the first APP1 "Exif" segment, uninterpreted; null when the file has none.</summary>
    public byte[]? ExifPayload { get; }
}

/// <summary>
/// Baseline, extended, progressive and arithmetic-coded 8-bit JPEG decoding, pixel for pixel as
/// libjpeg-turbo's djpeg with its defaults (and Pillow for CMYK).
/// </summary>
internal static class JpegDecoder
{
    /// <summary>Decodes a JPEG held in memory; <paramref name="fileName"/> only labels error messages.</summary>
    /// <exception cref="ImageFormatException">The data is not a JPEG this decoder supports, is broken, or is too large.</exception>
    public static JpegImage Decode(ReadOnlySpan<byte> data, string? fileName = null, ImageDecodeOptions? options = null) =>
        new JpegReader(data.ToArray(), fileName, options ?? ImageDecodeOptions.Default).Decode();

    /// <summary>Reads and decodes a JPEG file.</summary>
    /// <exception cref="ImageFormatException">The file is not a JPEG this decoder supports, is broken, or is too large.</exception>
    public static JpegImage DecodeFile(string path, ImageDecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return new JpegReader(File.ReadAllBytes(path), path, options ?? ImageDecodeOptions.Default).Decode();
    }
}
