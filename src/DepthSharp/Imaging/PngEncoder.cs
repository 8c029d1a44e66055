using System.Buffers.Binary;
using System.IO.Compression;
using DepthSharp.IO;

namespace DepthSharp.Imaging;

/// <summary>
/// PNG writer for 8-bit RGB, 8/16-bit gray and 16-bit RGB, non-interlaced, zlib-compressed, with
/// per-row adaptive filtering (the minimum-sum-of-absolute-differences heuristic libpng uses).
/// </summary>
public static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // Splitting IDAT keeps chunks a size every reader handles comfortably.
    private const int MaxIdatLength = 1 << 20;

    /// <summary>An 8-bit RGB PNG of <paramref name="image"/>.</summary>
    /// <param name="image">The picture.</param>
    public static byte[] EncodeRgb8(RgbImage image) =>
        Encode(image.Pixels, image.Width, image.Height, channels: 3, bitDepth: 8, colorType: 2);

    /// <summary>An 8-bit greyscale PNG.</summary>
    /// <param name="gray">width × height samples, rows top to bottom.</param>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="gray"/> has another length.</exception>
    public static byte[] EncodeGray8(ReadOnlySpan<byte> gray, int width, int height)
    {
        CheckSize(gray.Length, width, height, 1);
        return Encode(gray, width, height, channels: 1, bitDepth: 8, colorType: 0);
    }

    /// <summary>A 16-bit greyscale PNG (e.g. depth in millimetres, <see cref="Pipeline.DepthExport.Png16"/>).</summary>
    /// <param name="gray">width × height samples, rows top to bottom.</param>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="gray"/> has another length.</exception>
    public static byte[] EncodeGray16(ReadOnlySpan<ushort> gray, int width, int height)
    {
        CheckSize(gray.Length, width, height, 1);
        return Encode(ToBigEndian(gray), width, height, channels: 1, bitDepth: 16, colorType: 0);
    }

    /// <summary>A 16-bit RGB PNG.</summary>
    /// <param name="rgb">Interleaved R,G,B 16-bit samples, width × height × 3 of them, rows top to bottom.</param>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is zero or negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="rgb"/> has another length.</exception>
    public static byte[] EncodeRgb16(ReadOnlySpan<ushort> rgb, int width, int height)
    {
        CheckSize(rgb.Length, width, height, 3);
        return Encode(ToBigEndian(rgb), width, height, channels: 3, bitDepth: 16, colorType: 2);
    }

    /// <summary>Writes <see cref="EncodeRgb8"/>'s PNG to <paramref name="path"/>, whole or not at all (a temporary file renamed into place).</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="image">The picture.</param>
    public static void WriteRgb8(string path, RgbImage image) => Save(path, EncodeRgb8(image));

    /// <summary>Writes <see cref="EncodeGray8"/>'s PNG to <paramref name="path"/>, whole or not at all.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="gray">width × height samples, rows top to bottom.</param>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <exception cref="ArgumentException">The samples do not fit the size.</exception>
    public static void WriteGray8(string path, ReadOnlySpan<byte> gray, int width, int height) =>
        Save(path, EncodeGray8(gray, width, height));

    /// <summary>Writes <see cref="EncodeGray16"/>'s PNG to <paramref name="path"/>, whole or not at all.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="gray">width × height samples, rows top to bottom.</param>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <exception cref="ArgumentException">The samples do not fit the size.</exception>
    public static void WriteGray16(string path, ReadOnlySpan<ushort> gray, int width, int height) =>
        Save(path, EncodeGray16(gray, width, height));

    /// <summary>Writes <see cref="EncodeRgb16"/>'s PNG to <paramref name="path"/>, whole or not at all.</summary>
    /// <param name="path">The file to write.</param>
    /// <param name="rgb">Interleaved R,G,B samples, width × height × 3 of them.</param>
    /// <param name="width">Width in pixels, at least 1.</param>
    /// <param name="height">Height in pixels, at least 1.</param>
    /// <exception cref="ArgumentException">The samples do not fit the size.</exception>
    public static void WriteRgb16(string path, ReadOnlySpan<ushort> rgb, int width, int height) =>
        Save(path, EncodeRgb16(rgb, width, height));

    private static void Save(string path, byte[] png) => AtomicFile.Write(path, s => s.Write(png));

    private static void CheckSize(int length, int width, int height, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (length != (long)width * height * channels)
            throw new ArgumentException($"expected {(long)width * height * channels} samples for {width}x{height}x{channels}, got {length}");
    }

    private static byte[] ToBigEndian(ReadOnlySpan<ushort> samples)
    {
        var bytes = new byte[samples.Length * 2];
        for (int i = 0; i < samples.Length; i++)
            BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(i * 2), samples[i]);
        return bytes;
    }

    private static byte[] Encode(ReadOnlySpan<byte> samples, int width, int height, int channels, int bitDepth, int colorType)
    {
        int bpp = channels * bitDepth / 8;
        int rowBytes = width * bpp;
        using var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            var candidates = new byte[5][];
            for (int f = 0; f < 5; f++)
                candidates[f] = new byte[rowBytes + 1];
            for (int y = 0; y < height; y++)
            {
                ReadOnlySpan<byte> row = samples.Slice(y * rowBytes, rowBytes);
                ReadOnlySpan<byte> prev = y == 0 ? ReadOnlySpan<byte>.Empty : samples.Slice((y - 1) * rowBytes, rowBytes);
                z.Write(ChooseFilter(row, prev, bpp, candidates));
            }
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = (byte)bitDepth;
        ihdr[9] = (byte)colorType;
        ihdr[10] = ihdr[11] = ihdr[12] = 0;   // deflate, adaptive filtering, no interlace
        WriteChunk(png, "IHDR"u8, ihdr);
        ReadOnlySpan<byte> data = compressed.GetBuffer().AsSpan(0, (int)compressed.Length);
        for (int at = 0; at < data.Length; at += MaxIdatLength)
            WriteChunk(png, "IDAT"u8, data.Slice(at, Math.Min(MaxIdatLength, data.Length - at)));
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    /// <summary>Filters the row all five ways and keeps the one whose bytes, read as signed, sum smallest in magnitude.</summary>
    private static byte[] ChooseFilter(ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, byte[][] candidates)
    {
        bool hasPrev = !prev.IsEmpty;
        byte[] best = candidates[0];
        long bestScore = long.MaxValue;
        for (int f = 0; f < 5; f++)
        {
            byte[] o = candidates[f];
            o[0] = (byte)f;
            long score = 0;
            for (int i = 0; i < row.Length; i++)
            {
                int a = i >= bpp ? row[i - bpp] : 0;
                int b = hasPrev ? prev[i] : 0;
                int c = hasPrev && i >= bpp ? prev[i - bpp] : 0;
                int predictor = f switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) >> 1,
                    _ => Paeth(a, b, c),
                };
                byte v = (byte)(row[i] - predictor);
                o[i + 1] = v;
                score += Math.Abs((int)(sbyte)v);   // widen first: Abs(sbyte -128) overflows
            }
            if (score < bestScore)
            {
                bestScore = score;
                best = o;
            }
        }
        return best;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        s.Write(four);
        s.Write(type);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc32.Append(Crc32.Compute(type), data));
        s.Write(four);
    }
}
