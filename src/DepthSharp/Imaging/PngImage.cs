namespace DepthSharp.Imaging;

/// <summary>
/// A decoded PNG: samples interleaved per pixel, rows top to bottom. Palettes are already expanded
/// (RGB, or RGBA when the file has tRNS) and 1/2/4-bit gray is scaled up to 8 bits, so BitDepth is 8 or 16.
/// </summary>
internal sealed class PngImage
{
    public int Width { get; }
    public int Height { get; }
    /// <summary>1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.</summary>
    public int Channels { get; }
    /// <summary>8 (samples in <see cref="Samples8"/>) or 16 (samples in <see cref="Samples16"/>).</summary>
    public int BitDepth { get; }
    /// <summary>Width * Height * Channels samples when BitDepth is 8, else null.</summary>
    public byte[]? Samples8 { get; }
    /// <summary>Width * Height * Channels samples when BitDepth is 16, else null.</summary>
    public ushort[]? Samples16 { get; }
    /// <summary>The raw eXIf chunk (a TIFF structure), when the file has one.</summary>
    public byte[]? ExifPayload { get; }

    internal PngImage(int width, int height, int channels, byte[]? samples8, ushort[]? samples16, byte[]? exifPayload)
    {
        Width = width;
        Height = height;
        Channels = channels;
        BitDepth = samples16 is null ? 8 : 16;
        Samples8 = samples8;
        Samples16 = samples16;
        ExifPayload = exifPayload;
    }

    /// <summary>8-bit RGB as Pillow's convert("RGB") gives it: alpha dropped, gray repeated, 16-bit samples keep their high byte.</summary>
    public RgbImage ToRgb8()
    {
        int n = Width * Height;
        var rgb = new byte[n * 3];
        int ch = Channels;
        // Gray (+alpha) repeats its one colour sample; RGB(A) copies three. Alpha is never composited.
        bool gray = ch <= 2;
        if (Samples8 is { } s8)
        {
            for (int i = 0, src = 0, dst = 0; i < n; i++, src += ch, dst += 3)
            {
                if (gray)
                {
                    byte v = s8[src];
                    rgb[dst] = v; rgb[dst + 1] = v; rgb[dst + 2] = v;
                }
                else
                {
                    rgb[dst] = s8[src]; rgb[dst + 1] = s8[src + 1]; rgb[dst + 2] = s8[src + 2];
                }
            }
        }
        else
        {
            ushort[] s16 = Samples16!;
            for (int i = 0, src = 0, dst = 0; i < n; i++, src += ch, dst += 3)
            {
                if (gray)
                {
                    byte v = (byte)(s16[src] >> 8);
                    rgb[dst] = v; rgb[dst + 1] = v; rgb[dst + 2] = v;
                }
                else
                {
                    rgb[dst] = (byte)(s16[src] >> 8); rgb[dst + 1] = (byte)(s16[src + 1] >> 8); rgb[dst + 2] = (byte)(s16[src + 2] >> 8);
                }
            }
        }
        return new RgbImage(Width, Height, rgb);
    }
}
