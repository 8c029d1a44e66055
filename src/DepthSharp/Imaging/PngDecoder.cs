using System.Buffers.Binary;
using System.IO.Compression;
using DepthSharp.IO;

namespace DepthSharp.Imaging;

/// <summary>
/// PNG decoder (ISO/IEC 15948): every colour type and bit depth, PLTE + tRNS, Adam7, all five filters.
/// Every chunk's CRC is checked and every malformed file is refused with <see cref="ImageFormatException"/>.
/// </summary>
internal static class PngDecoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // Adam7 pass origins and steps (x0, y0, dx, dy).
    private static readonly int[] PassX0 = [0, 4, 0, 2, 0, 1, 0];
    private static readonly int[] PassY0 = [0, 0, 4, 0, 2, 0, 1];
    private static readonly int[] PassDx = [8, 8, 4, 4, 2, 2, 1];
    private static readonly int[] PassDy = [8, 8, 8, 4, 4, 2, 2];

    public static PngImage DecodeFile(string path, ImageDecodeOptions? options = null)
    {
        byte[] data = File.ReadAllBytes(path);
        return Decode(data, path, options);
    }

    public static PngImage Decode(ReadOnlySpan<byte> data, string? fileName = null, ImageDecodeOptions? options = null)
    {
        options ??= ImageDecodeOptions.Default;
        if (data.Length < Signature.Length || !data[..Signature.Length].SequenceEqual(Signature))
            throw Fail(fileName, data.Length == 0 ? "empty file, not a PNG" : "not a PNG file (bad signature)");

        Header? header = null;
        byte[]? palette = null;   // RGBA, 4 bytes per entry
        int paletteCount = 0;
        bool paletteHasAlpha = false;
        byte[]? exif = null;
        using var idat = new MemoryStream();
        bool idatSeen = false, idatEnded = false, endSeen = false;

        int pos = Signature.Length;
        while (!endSeen)
        {
            if (data.Length - pos < 12)
                throw Fail(fileName, pos == data.Length ? "truncated: file ends before the IEND chunk" : "truncated chunk header");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(pos, 4));
            ReadOnlySpan<byte> typeBytes = data.Slice(pos + 4, 4);
            string type = ChunkName(typeBytes);
            if (length > int.MaxValue)
                throw Fail(fileName, $"chunk '{type}' has an impossible length {length}");
            if (data.Length - pos - 12 < (long)length)
                throw Fail(fileName, $"truncated: chunk '{type}' runs past the end of the file");
            uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(pos + 8 + (int)length, 4));
            if (Crc32.Compute(data.Slice(pos + 4, 4 + (int)length)) != storedCrc)
                throw Fail(fileName, $"CRC mismatch in chunk '{type}' (file is corrupt)");
            foreach (byte b in typeBytes)
                if (!((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z')))
                    throw Fail(fileName, $"invalid chunk type '{type}'");
            ReadOnlySpan<byte> body = data.Slice(pos + 8, (int)length);
            pos += 12 + (int)length;

            if (header is null && type != "IHDR")
                throw Fail(fileName, $"first chunk is '{type}', expected IHDR");
            if (idatSeen && type != "IDAT")
                idatEnded = true;

            switch (type)
            {
                case "IHDR":
                    if (header is not null)
                        throw Fail(fileName, "more than one IHDR chunk");
                    header = ParseHeader(body, fileName, options);
                    break;
                case "PLTE":
                    if (palette is not null)
                        throw Fail(fileName, "more than one PLTE chunk");
                    if (idatSeen)
                        throw Fail(fileName, "PLTE chunk after image data");
                    if (header!.ColorType is 0 or 4)
                        throw Fail(fileName, "PLTE chunk in a grayscale image");
                    if (length == 0 || length % 3 != 0 || length / 3 > 256)
                        throw Fail(fileName, $"PLTE chunk has invalid length {length}");
                    paletteCount = (int)length / 3;
                    palette = new byte[256 * 4];
                    // Entries past the table decode as opaque black, as Pillow shows out-of-range indices.
                    for (int i = 0; i < 256; i++)
                        palette[i * 4 + 3] = 255;
                    for (int i = 0; i < paletteCount; i++)
                    {
                        palette[i * 4] = body[i * 3];
                        palette[i * 4 + 1] = body[i * 3 + 1];
                        palette[i * 4 + 2] = body[i * 3 + 2];
                    }
                    break;
                case "tRNS":
                    if (idatSeen)
                        throw Fail(fileName, "tRNS chunk after image data");
                    if (header!.ColorType == 3)
                    {
                        if (palette is null)
                            throw Fail(fileName, "tRNS chunk before PLTE");
                        if (length > paletteCount)
                            throw Fail(fileName, "tRNS chunk has more entries than the palette");
                        for (int i = 0; i < (int)length; i++)
                            palette[i * 4 + 3] = body[i];
                        paletteHasAlpha = true;
                    }
                    // A gray or RGB tRNS names one transparent colour; dropping it keeps the colour samples intact.
                    break;
                case "IDAT":
                    if (idatEnded)
                        throw Fail(fileName, "IDAT chunks are not consecutive");
                    if (header!.ColorType == 3 && palette is null)
                        throw Fail(fileName, "palette image has no PLTE chunk before its data");
                    idatSeen = true;
                    idat.Write(body);
                    break;
                case "eXIf":
                    exif ??= body.ToArray();
                    break;
                case "IEND":
                    endSeen = true;
                    break;
                default:
                    // Bit 5 of the first letter clear = critical: we cannot show the picture without understanding it.
                    if ((typeBytes[0] & 0x20) == 0)
                        throw Fail(fileName, $"unknown critical chunk '{type}'");
                    break;
            }
        }

        if (!idatSeen)
            throw Fail(fileName, "no image data (IDAT chunk)");

        Header h = header!;
        byte[] raw = Inflate(idat, h.RawSize, fileName);
        return Reconstruct(h, raw, palette, paletteHasAlpha, exif, fileName);
    }

    private sealed record Header(int Width, int Height, int BitDepth, int ColorType, bool Interlaced, int SourceChannels, long RawSize);

    private static Header ParseHeader(ReadOnlySpan<byte> body, string? fileName, ImageDecodeOptions options)
    {
        if (body.Length != 13)
            throw Fail(fileName, $"IHDR chunk has length {body.Length}, expected 13");
        uint w = BinaryPrimitives.ReadUInt32BigEndian(body);
        uint hgt = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        int bitDepth = body[8], colorType = body[9];
        if (w == 0 || hgt == 0 || w > int.MaxValue || hgt > int.MaxValue)
            throw Fail(fileName, $"invalid dimensions {w}x{hgt}");
        long pixels = (long)w * hgt;
        if (pixels > options.MaxPixels)
            throw Fail(fileName, $"image is {w}x{hgt} = {pixels} pixels, more than the limit of {options.MaxPixels}");
        int channels = colorType switch
        {
            0 => 1,
            2 => 3,
            3 => 1,
            4 => 2,
            6 => 4,
            _ => throw Fail(fileName, $"invalid colour type {colorType}"),
        };
        bool depthOk = colorType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            _ => bitDepth is 8 or 16,
        };
        if (!depthOk)
            throw Fail(fileName, $"bit depth {bitDepth} is not allowed for colour type {colorType}");
        if (body[10] != 0)
            throw Fail(fileName, $"unknown compression method {body[10]}");
        if (body[11] != 0)
            throw Fail(fileName, $"unknown filter method {body[11]}");
        if (body[12] > 1)
            throw Fail(fileName, $"unknown interlace method {body[12]}");
        bool interlaced = body[12] == 1;

        int width = (int)w, height = (int)hgt;
        long rawSize = 0;
        for (int p = 0; p < (interlaced ? 7 : 1); p++)
        {
            (int pw, int ph) = interlaced ? PassSize(width, height, p) : (width, height);
            if (pw > 0 && ph > 0)
                rawSize += (long)ph * (1 + RowBytes(pw, channels, bitDepth));
        }
        int outChannels = colorType == 3 ? 4 : channels;   // worst case, checked before tRNS is known
        if (rawSize > Array.MaxLength || pixels * outChannels > Array.MaxLength)
            throw Fail(fileName, $"image is {w}x{hgt}: too large to decode in memory");
        return new Header(width, height, bitDepth, colorType, interlaced, channels, rawSize);
    }

    private static (int Width, int Height) PassSize(int width, int height, int pass)
    {
        int pw = width > PassX0[pass] ? (width - PassX0[pass] + PassDx[pass] - 1) / PassDx[pass] : 0;
        int ph = height > PassY0[pass] ? (height - PassY0[pass] + PassDy[pass] - 1) / PassDy[pass] : 0;
        return (pw, ph);
    }

    private static long RowBytes(long width, int channels, int bitDepth) => (width * channels * bitDepth + 7) / 8;

    /// <summary>
    /// Inflates exactly the bytes the header calls for. The buffer grows with what the stream really yields
    /// (capped at the expected size), so a small file claiming a huge picture cannot make us allocate it up front.
    /// </summary>
    private static byte[] Inflate(MemoryStream idat, long expected, string? fileName)
    {
        var raw = new byte[Math.Min(expected, Math.Max(1L << 16, idat.Length * 4))];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress, leaveOpen: true);
            int filled = 0;
            while (filled < expected)
            {
                if (filled == raw.Length)
                    Array.Resize(ref raw, (int)Math.Min(expected, (long)raw.Length * 2));
                int n = z.Read(raw, filled, raw.Length - filled);
                if (n == 0)
                    throw Fail(fileName, $"truncated image data: {filled} of {expected} bytes");
                filled += n;
            }
            // Extra data after a complete image is tolerated (libpng only warns); we never inflate it.
        }
        catch (InvalidDataException e)
        {
            throw new ImageFormatException(fileName, $"corrupt compressed image data ({e.Message})", e);
        }
        return raw;
    }

    private static PngImage Reconstruct(Header h, byte[] raw, byte[]? palette, bool paletteHasAlpha, byte[]? exif, string? fileName)
    {
        int outChannels = h.ColorType == 3 ? (paletteHasAlpha ? 4 : 3) : h.SourceChannels;
        bool wide = h.BitDepth == 16;
        long count = (long)h.Width * h.Height * outChannels;
        byte[]? out8 = wide ? null : new byte[count];
        ushort[]? out16 = wide ? new ushort[count] : null;
        int bpp = Math.Max(1, h.SourceChannels * h.BitDepth / 8);

        int offset = 0;
        for (int p = 0; p < (h.Interlaced ? 7 : 1); p++)
        {
            (int pw, int ph) = h.Interlaced ? PassSize(h.Width, h.Height, p) : (h.Width, h.Height);
            if (pw == 0 || ph == 0)
                continue;
            int x0 = h.Interlaced ? PassX0[p] : 0, y0 = h.Interlaced ? PassY0[p] : 0;
            int dx = h.Interlaced ? PassDx[p] : 1, dy = h.Interlaced ? PassDy[p] : 1;
            int rowBytes = (int)RowBytes(pw, h.SourceChannels, h.BitDepth);
            Span<byte> prev = Span<byte>.Empty;
            for (int r = 0; r < ph; r++)
            {
                int filter = raw[offset];
                Span<byte> row = raw.AsSpan(offset + 1, rowBytes);
                Unfilter(filter, row, prev, bpp, fileName);
                int y = y0 + r * dy;
                long dstStart = ((long)y * h.Width + x0) * outChannels;
                if (out8 is not null)
                    Unpack8(h, row, pw, out8, dstStart, dx * outChannels, palette, outChannels);
                else
                    Unpack16(row, pw, h.SourceChannels, out16!, dstStart, dx * outChannels);
                prev = row;
                offset += 1 + rowBytes;
            }
        }
        return new PngImage(h.Width, h.Height, outChannels, out8, out16, exif);
    }

    private static void Unfilter(int filter, Span<byte> row, ReadOnlySpan<byte> prev, int bpp, string? fileName)
    {
        // The row above a pass's first row counts as zeros.
        bool hasPrev = !prev.IsEmpty;
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (int i = bpp; i < row.Length; i++)
                    row[i] += row[i - bpp];
                break;
            case 2:
                if (hasPrev)
                    for (int i = 0; i < row.Length; i++)
                        row[i] += prev[i];
                break;
            case 3:
                for (int i = 0; i < row.Length; i++)
                {
                    int left = i >= bpp ? row[i - bpp] : 0;
                    int up = hasPrev ? prev[i] : 0;
                    row[i] += (byte)((left + up) >> 1);
                }
                break;
            case 4:
                for (int i = 0; i < row.Length; i++)
                {
                    int a = i >= bpp ? row[i - bpp] : 0;
                    int b = hasPrev ? prev[i] : 0;
                    int c = hasPrev && i >= bpp ? prev[i - bpp] : 0;
                    row[i] += Paeth(a, b, c);
                }
                break;
            default:
                throw Fail(fileName, $"invalid filter type {filter}");
        }
    }

    private static byte Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        if (pa <= pb && pa <= pc)
            return (byte)a;
        return (byte)(pb <= pc ? b : c);
    }

    private static void Unpack8(Header h, ReadOnlySpan<byte> row, int count, byte[] dst, long start, int step, byte[]? palette, int outChannels)
    {
        int bd = h.BitDepth;
        if (h.ColorType == 3)
        {
            byte[] pal = palette!;
            for (int i = 0; i < count; i++)
            {
                int idx = bd == 8 ? row[i] : SubByte(row, i, bd);
                long d = start + (long)i * step;
                for (int c = 0; c < outChannels; c++)
                    dst[d + c] = pal[idx * 4 + c];
            }
        }
        else if (bd < 8)
        {
            // Low-depth gray scales to 8 bits by replicating its bits (x255/(2^bd-1)), as libpng and Pillow do.
            int scale = 255 / ((1 << bd) - 1);
            for (int i = 0; i < count; i++)
                dst[start + (long)i * step] = (byte)(SubByte(row, i, bd) * scale);
        }
        else
        {
            int ch = h.SourceChannels;
            for (int i = 0; i < count; i++)
            {
                long d = start + (long)i * step;
                for (int c = 0; c < ch; c++)
                    dst[d + c] = row[i * ch + c];
            }
        }
    }

    private static int SubByte(ReadOnlySpan<byte> row, int index, int bitDepth)
    {
        int bit = index * bitDepth;
        int shift = 8 - bitDepth - (bit & 7);
        return (row[bit >> 3] >> shift) & ((1 << bitDepth) - 1);
    }

    private static void Unpack16(ReadOnlySpan<byte> row, int count, int channels, ushort[] dst, long start, int step)
    {
        for (int i = 0; i < count; i++)
        {
            long d = start + (long)i * step;
            for (int c = 0; c < channels; c++)
                dst[d + c] = BinaryPrimitives.ReadUInt16BigEndian(row.Slice((i * channels + c) * 2, 2));
        }
    }

    private static string ChunkName(ReadOnlySpan<byte> type)
    {
        Span<char> chars = stackalloc char[4];
        for (int i = 0; i < 4; i++)
            chars[i] = type[i] is >= 0x20 and < 0x7F ? (char)type[i] : '?';
        return new string(chars);
    }

    private static ImageFormatException Fail(string? fileName, string problem) => new(fileName, problem);
}
