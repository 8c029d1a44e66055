using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace DepthSharp.Tests.Imaging;

/// <summary>
/// Test-side PNG writer that knows nothing of the library: it wraps given chunks with lengths and CRCs
/// (its own bitwise CRC) so decoder tests do not depend on the encoder under test.
/// </summary>
internal static class PngBuilder
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static byte[] Ihdr(int width, int height, int bitDepth, int colorType, int interlace = 0)
    {
        var b = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(b, width);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), height);
        b[8] = (byte)bitDepth;
        b[9] = (byte)colorType;
        b[12] = (byte)interlace;
        return b;
    }

    public static byte[] Zlib(byte[] raw)
    {
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true))
            z.Write(raw);
        return ms.ToArray();
    }

    /// <summary>A whole file: IHDR, the extra chunks in order, one IDAT of the zlib'd scanlines, IEND.</summary>
    public static byte[] File(byte[] ihdr, byte[] scanlines, params (string Type, byte[] Data)[] before)
    {
        var chunks = new List<(string, byte[])> { ("IHDR", ihdr) };
        chunks.AddRange(before);
        chunks.Add(("IDAT", Zlib(scanlines)));
        chunks.Add(("IEND", []));
        return Assemble(chunks);
    }

    public static byte[] Assemble(IEnumerable<(string Type, byte[] Data)> chunks)
    {
        using var ms = new MemoryStream();
        ms.Write(Signature);
        foreach ((string type, byte[] data) in chunks)
            WriteChunk(ms, Encoding.ASCII.GetBytes(type), data);
        return ms.ToArray();
    }

    public static void WriteChunk(Stream s, byte[] type, byte[] data)
    {
        Span<byte> four = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(four, data.Length);
        s.Write(four);
        s.Write(type);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(four, Crc([.. type, .. data]));
        s.Write(four);
    }

    // Bit-at-a-time CRC-32: slow but independent of the table-driven one in the library.
    public static uint Crc(ReadOnlySpan<byte> bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++)
                c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    /// <summary>Recomputes the CRC of every chunk whose framing still parses, so mutations reach past the CRC check.</summary>
    public static void FixCrcs(byte[] file)
    {
        int pos = 8;
        while (file.Length - pos >= 12)
        {
            uint len = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos));
            if (len > file.Length - pos - 12)
                return;
            uint crc = Crc(file.AsSpan(pos + 4, 4 + (int)len));
            BinaryPrimitives.WriteUInt32BigEndian(file.AsSpan(pos + 8 + (int)len), crc);
            pos += 12 + (int)len;
        }
    }

    /// <summary>Filters one scanline with the given PNG filter type (reference formulas, written out plainly).</summary>
    public static byte[] FilterRow(int type, byte[] row, byte[]? prev, int bpp)
    {
        var o = new byte[row.Length + 1];
        o[0] = (byte)type;
        for (int i = 0; i < row.Length; i++)
        {
            int a = i >= bpp ? row[i - bpp] : 0;
            int b = prev is null ? 0 : prev[i];
            int c = prev is null || i < bpp ? 0 : prev[i - bpp];
            int predictor = type switch
            {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                _ => PaethReference(a, b, c),
            };
            o[i + 1] = (byte)(row[i] - predictor);
        }
        return o;
    }

    private static int PaethReference(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
