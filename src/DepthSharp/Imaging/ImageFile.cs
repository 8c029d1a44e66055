namespace DepthSharp.Imaging;

/// <summary>A picture as the tool reads it: upright 8-bit RGB, with the EXIF data it carried.</summary>
public sealed record LoadedImage(RgbImage Image, ExifData? Exif, string? FileName)
{
    /// <summary>The focal length in pixels that the EXIF 35 mm-equivalent focal length implies for this (upright) picture, if any.</summary>
    public double? ExifFocalLengthPixels =>
        Exif?.FocalLength35mmEquivalent() is double f35 ? Imaging.Exif.FocalLengthPixels(f35, Image.Width, Image.Height) : null;
}

/// <summary>Reads PNG and JPEG files by their signature, applying EXIF orientation unless told not to.</summary>
public static class ImageFile
{
    public static LoadedImage Load(string path, ImageDecodeOptions? options = null)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new ImageFormatException(path, $"cannot read: {e.Message}"); }
        return Decode(bytes, path, options);
    }

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
