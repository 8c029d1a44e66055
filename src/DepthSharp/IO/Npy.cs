using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace DepthSharp.IO;

/// <summary>A .npy file that is broken, truncated, or uses a layout this reader does not support.</summary>
internal sealed class NpyFormatException : DepthSharpException
{
    public string? FileName { get; }
    public NpyFormatException(string? fileName, string problem)
        : base(fileName is null ? problem : $"{fileName}: {problem}") => FileName = fileName;
}

/// <summary>An array read from a .npy file: exactly one of the typed buffers is set, in C order.</summary>
internal sealed class NpyArray
{
    /// <summary>numpy's type string: "&lt;f4", "|u1" or "&lt;u2".</summary>
    public string Descr { get; }
    public int[] Shape { get; }
    public float[]? Float32 { get; }
    public byte[]? UInt8 { get; }
    public ushort[]? UInt16 { get; }

    internal NpyArray(string descr, int[] shape, float[]? f32, byte[]? u8, ushort[]? u16)
    {
        Descr = descr;
        Shape = shape;
        Float32 = f32;
        UInt8 = u8;
        UInt16 = u16;
    }
}

/// <summary>
/// numpy's .npy format for float32, uint8 and uint16, little-endian, C order. Writes version 1.0;
/// reads 1.0 to 3.0, validating the header and that the data is exactly the size the shape calls for.
/// </summary>
internal static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static NpyArray Read(string path) => Read(File.ReadAllBytes(path), path);

    public static NpyArray Read(ReadOnlySpan<byte> data, string? fileName = null)
    {
        if (data.Length < 10 || !data[..6].SequenceEqual(Magic))
            throw new NpyFormatException(fileName, "not a .npy file (bad magic)");
        int major = data[6];
        int headerLength, headerStart;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
            headerStart = 10;
        }
        else if (major is 2 or 3)
        {
            if (data.Length < 12)
                throw new NpyFormatException(fileName, "truncated header");
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]);
            if (len > int.MaxValue)
                throw new NpyFormatException(fileName, $"impossible header length {len}");
            headerLength = (int)len;
            headerStart = 12;
        }
        else
        {
            throw new NpyFormatException(fileName, $"unsupported format version {major}.{data[7]}");
        }
        if (data.Length - headerStart < headerLength)
            throw new NpyFormatException(fileName, "truncated header");
        // v1/v2 headers are latin-1, v3 utf-8; the keys and values we accept are plain ASCII either way.
        string header = major == 3
            ? Encoding.UTF8.GetString(data.Slice(headerStart, headerLength))
            : Encoding.Latin1.GetString(data.Slice(headerStart, headerLength));
        (string descr, bool fortran, int[] shape) = ParseHeader(header, fileName);
        if (fortran)
            throw new NpyFormatException(fileName, "Fortran-order arrays are not supported");

        int itemSize = descr switch
        {
            "<f4" => 4,
            "|u1" or "<u1" => 1,
            "<u2" => 2,
            _ => throw new NpyFormatException(fileName, $"unsupported dtype '{descr}' (need <f4, |u1 or <u2)"),
        };
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > Array.MaxLength)
                throw new NpyFormatException(fileName, "array too large");
        }
        ReadOnlySpan<byte> body = data[(headerStart + headerLength)..];
        if (body.Length != count * itemSize)
            throw new NpyFormatException(fileName, (body.Length < count * itemSize ? "truncated: " : "trailing bytes: ")
                + $"data is {body.Length} bytes, shape ({string.Join(", ", shape)}) of {descr} needs {count * itemSize}");

        int n = (int)count;
        switch (itemSize)
        {
            case 4:
                var f = new float[n];
                for (int i = 0; i < n; i++)
                    f[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(i * 4)..]);
                return new NpyArray("<f4", shape, f, null, null);
            case 1:
                return new NpyArray("|u1", shape, null, body.ToArray(), null);
            default:
                var u = new ushort[n];
                for (int i = 0; i < n; i++)
                    u[i] = BinaryPrimitives.ReadUInt16LittleEndian(body[(i * 2)..]);
                return new NpyArray("<u2", shape, null, null, u);
        }
    }

    public static void Write(string path, ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        byte[] bytes = Encode(values, shape);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    public static void Write(string path, ReadOnlySpan<byte> values, ReadOnlySpan<int> shape)
    {
        byte[] bytes = Encode(values, shape);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    public static void Write(string path, ReadOnlySpan<ushort> values, ReadOnlySpan<int> shape)
    {
        byte[] bytes = Encode(values, shape);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    public static byte[] Encode(ReadOnlySpan<float> values, ReadOnlySpan<int> shape)
    {
        byte[] buf = Begin("<f4", shape, values.Length, 4, out int at);
        foreach (float v in values)
        {
            BinaryPrimitives.WriteSingleLittleEndian(buf.AsSpan(at), v);
            at += 4;
        }
        return buf;
    }

    public static byte[] Encode(ReadOnlySpan<byte> values, ReadOnlySpan<int> shape)
    {
        byte[] buf = Begin("|u1", shape, values.Length, 1, out int at);
        values.CopyTo(buf.AsSpan(at));
        return buf;
    }

    public static byte[] Encode(ReadOnlySpan<ushort> values, ReadOnlySpan<int> shape)
    {
        byte[] buf = Begin("<u2", shape, values.Length, 2, out int at);
        foreach (ushort v in values)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(at), v);
            at += 2;
        }
        return buf;
    }

    /// <summary>Allocates the whole file and writes the v1.0 header, padded so the data starts on a 64-byte boundary as numpy does.</summary>
    private static byte[] Begin(string descr, ReadOnlySpan<int> shape, int count, int itemSize, out int dataStart)
    {
        long expected = 1;
        foreach (int d in shape)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(shape));
            expected *= d;
        }
        if (expected != count)
            throw new ArgumentException($"shape holds {expected} values, got {count}", nameof(shape));
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.ToArray());
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int unpadded = 10 + dict.Length + 1;
        int total = (unpadded + 63) / 64 * 64;
        if (total - 10 > ushort.MaxValue)
            throw new ArgumentException("shape too long for a v1.0 header", nameof(shape));
        string header = dict + new string(' ', total - unpadded) + "\n";
        var buf = new byte[total + (long)count * itemSize];
        Magic.CopyTo(buf);
        buf[6] = 1;
        buf[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(buf.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, buf.AsSpan(10));
        dataStart = total;
        return buf;
    }

    /// <summary>Parses the Python dict literal numpy writes: string keys, a string, a bool and a tuple of ints.</summary>
    private static (string Descr, bool Fortran, int[] Shape) ParseHeader(string header, string? fileName)
    {
        var p = new HeaderParser(header, fileName);
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        p.Expect('{');
        while (!p.TryTake('}'))
        {
            string key = p.ReadString();
            p.Expect(':');
            switch (key)
            {
                case "descr": descr = p.ReadString(); break;
                case "fortran_order": fortran = p.ReadBool(); break;
                case "shape": shape = p.ReadShape(); break;
                default: throw new NpyFormatException(fileName, $"unknown header key '{key}'");
            }
            if (!p.TryTake(','))
            {
                p.Expect('}');
                break;
            }
        }
        if (descr is null || fortran is null || shape is null)
            throw new NpyFormatException(fileName, "header lacks descr, fortran_order or shape");
        return (descr, fortran.Value, shape);
    }

    private sealed class HeaderParser(string text, string? fileName)
    {
        private int _pos;

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
                _pos++;
        }

        public bool TryTake(char c)
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] == c)
            {
                _pos++;
                return true;
            }
            return false;
        }

        public void Expect(char c)
        {
            if (!TryTake(c))
                throw Bad($"expected '{c}'");
        }

        public string ReadString()
        {
            SkipSpace();
            if (_pos >= text.Length || text[_pos] is not ('\'' or '"'))
                throw Bad("expected a quoted string");
            char quote = text[_pos++];
            int end = text.IndexOf(quote, _pos);
            if (end < 0)
                throw Bad("unterminated string");
            string s = text[_pos..end];
            _pos = end + 1;
            return s;
        }

        public bool ReadBool()
        {
            SkipSpace();
            foreach ((string word, bool value) in new[] { ("True", true), ("False", false) })
            {
                if (string.CompareOrdinal(text, _pos, word, 0, word.Length) == 0)
                {
                    _pos += word.Length;
                    return value;
                }
            }
            throw Bad("expected True or False");
        }

        public int[] ReadShape()
        {
            Expect('(');
            var dims = new List<int>();
            while (!TryTake(')'))
            {
                SkipSpace();
                int start = _pos;
                while (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
                    _pos++;
                if (!int.TryParse(text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                    throw Bad("shape dimension is not a non-negative integer");
                dims.Add(d);
                if (!TryTake(','))
                {
                    Expect(')');
                    break;
                }
            }
            return [.. dims];
        }

        private NpyFormatException Bad(string what) => new(fileName, $"malformed header: {what} at offset {_pos}");
    }
}
