namespace DepthSharp.Imaging;

/// <summary>A picture as the tool reads it: upright 8-bit RGB, with the EXIF data it carried.</summary>
/// <param name="Image">The pixels, turned upright by the EXIF orientation unless decoding was told not to.</param>
/// <param name="Exif">The EXIF fields read, or null when the picture has no EXIF block.</param>
/// <param name="FileName">The file it came from (or the name given for in-memory data), for messages; may be null.</param>
public sealed record LoadedImage(RgbImage Image, ExifData? Exif, string? FileName)
{
    /// <summary>The focal length in pixels that the EXIF 35 mm-equivalent focal length implies for this (upright) picture, if any.</summary>
    public double? ExifFocalLengthPixels =>
        Exif?.FocalLength35mmEquivalent() is double f35 ? Imaging.Exif.FocalLengthPixels(f35, Image.Width, Image.Height) : null;
}

/// <summary>Reads PNG and JPEG files by their signature, applying EXIF orientation unless told not to.</summary>
public static class ImageFile
{
    /// <summary>Reads and decodes the PNG or JPEG file at <paramref name="path"/> (see <see cref="Decode"/>).</summary>
    /// <param name="path">The picture file.</param>
    /// <param name="options">Pixel limit and orientation; null: <see cref="ImageDecodeOptions.Default"/>.</param>
    /// <exception cref="ImageFormatException">The file cannot be read, is neither PNG nor JPEG, or is broken, truncated, unsupported or larger than the limit.</exception>
    public static LoadedImage Load(string path, ImageDecodeOptions? options = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new ImageFormatException(path, $"cannot read: {e.Message}"); }
        return Decode(bytes, path, options);
    }

    /// <summary>
    /// Decodes a PNG (any bit depth and colour type, interlaced or not; as Pillow's convert("RGB"): 16-bit samples keep
    /// their high byte, alpha is dropped) or a JPEG (baseline or progressive, Huffman or arithmetic coded; grey, YCbCr, RGB,
    /// CMYK or YCCK), told apart by its signature, into 8-bit RGB, and reads its EXIF block.
    /// </summary>
    /// <param name="data">The whole file.</param>
    /// <param name="fileName">Named in errors and kept in the result; may be null.</param>
    /// <param name="options">Pixel limit and orientation; null: <see cref="ImageDecodeOptions.Default"/>.</param>
    /// <exception cref="ImageFormatException">The data is neither PNG nor JPEG, or is broken, truncated, unsupported or larger than the limit.</exception>
    public static LoadedImage Decode(ReadOnlySpan<byte> data, string? fileName, ImageDecodeOptions? options = null)
    {
        options ??= ImageDecodeOptions.Default;
        RgbImage image;
        byte[]? exifPayload;
        if (data.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']))
        {
            var png = PngDecoder.Decode(data, fileName, options);
            image = png.ToRgb8();
            exifPayload = png.ExifPayload;
        }
        else if (data.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8]))
        {
            var jpeg = JpegDecoder.Decode(data, fileName, options);
            image = jpeg.Image;
            exifPayload = jpeg.ExifPayload;
        }
        else
            throw new ImageFormatException(fileName, "not a PNG or JPEG file (unknown signature)");
        var exif = exifPayload is null ? null : Exif.Parse(exifPayload, fileName);
        if (options.ApplyExifOrientation && exif is { Orientation: not 1 })
            image = Exif.Orient(image, exif.Orientation);
        return new LoadedImage(image, exif, fileName);
    }
}
