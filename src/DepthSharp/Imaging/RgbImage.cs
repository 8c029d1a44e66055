namespace DepthSharp.Imaging;

/// <summary>An 8-bit RGB picture, rows top to bottom, pixels interleaved R,G,B.</summary>
public sealed class RgbImage
{
    /// <summary>Width in pixels, at least 1.</summary>
    public int Width { get; }

    /// <summary>Height in pixels, at least 1.</summary>
    public int Height { get; }
    /// <summary>Width * Height * 3 bytes.</summary>
    public byte[] Pixels { get; }

    /// <summary>A picture over <paramref name="pixels"/> (not copied).</summary>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <param name="pixels">width × height × 3 bytes, rows top to bottom, R,G,B interleaved.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> has another length.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (pixels.LongLength != (long)width * height * 3)
            throw new ArgumentException($"expected {(long)width * height * 3} bytes for {width}x{height} RGB, got {pixels.LongLength}", nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }
}
