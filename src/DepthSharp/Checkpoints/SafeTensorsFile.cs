using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using DepthSharp.Tensors;

namespace DepthSharp.Checkpoints;

/// <summary>A tensor's element type as a safetensors header names it ("F32", "BF16", "BOOL", ...).</summary>
public enum StoredDType
{
    /// <summary>32-bit IEEE float.</summary>
    F32,
    /// <summary>16-bit IEEE half float.</summary>
    F16,
    /// <summary>bfloat16: the top 16 bits of a float32.</summary>
    BF16,
    /// <summary>64-bit IEEE float.</summary>
    F64,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 16-bit integer.</summary>
    I16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Unsigned 16-bit integer.</summary>
    U16,
    /// <summary>Unsigned 32-bit integer.</summary>
    U32,
    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
    /// <summary>One byte per element, 0 or 1.</summary>
    Bool,
}

/// <summary>Where one tensor lives in a safetensors file.</summary>
/// <param name="Name">The tensor's name in the header.</param>
/// <param name="DType">Its stored element type.</param>
/// <param name="Shape">Its dimensions, outermost first; empty for a scalar.</param>
/// <param name="Begin">Its first byte, counted from the start of the data (after the header).</param>
/// <param name="End">One past its last byte, counted the same way.</param>
/// <param name="FileName">The .safetensors file that holds it.</param>
public sealed record TensorEntry(string Name, StoredDType DType, int[] Shape, long Begin, long End, string FileName)
{
    /// <summary>The number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount => Tensor.ShapeSize(Shape);
}

/// <summary>One tensor for <see cref="SafeTensorsFile.Write"/>; <paramref name="Bytes"/> gives its little-endian data when its turn comes.</summary>
/// <param name="Name">The tensor's name in the header.</param>
/// <param name="DType">Its element type.</param>
/// <param name="Shape">Its dimensions, outermost first.</param>
/// <param name="Bytes">Gives the tensor's raw little-endian bytes (product of the shape × element size of them) when it is written.</param>
public sealed record TensorToWrite(string Name, StoredDType DType, int[] Shape, Func<ReadOnlyMemory<byte>> Bytes);

/// <summary>
/// A .safetensors file: an 8-byte little-endian header length, a JSON header, then raw data. The header is checked whole
/// on open (dtypes, shapes, offsets inside the file, no overlaps), so a lying file is refused before any tensor is read.
/// Tensors are read with positioned reads into their own buffers, not through a mapping of the file: mapped pages stay
/// charged to the process while it is mapped, which doubled a float32 model's resident memory as it loaded (the mapping
/// beside the packed weights), and a file truncated behind the reader's back would fault instead of failing cleanly.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L << 20;
    private readonly SafeFileHandle _file;
    private readonly long _dataStart;

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Every tensor in the file by name.</summary>
    public IReadOnlyDictionary<string, TensorEntry> Entries { get; }

    /// <summary>The header's "__metadata__" strings (e.g. "format": "pt"); empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string path, SafeFileHandle file, long dataStart, Dictionary<string, TensorEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _file = file; _dataStart = dataStart; Entries = entries; Metadata = metadata;
    }

    /// <summary>Opens <paramref name="path"/> for reading after checking its whole header; tensors are read from it on demand.</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <exception cref="CheckpointException">The file is missing, unreadable, truncated, its header is over 100 MiB or is not valid
    /// JSON, or an entry has an unknown dtype, a bad shape, or data offsets outside the file, of the wrong size or overlapping another's.</exception>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        SafeFileHandle file;
        // The handle's length, not FileInfo's: a Hub cache snapshot holds symlinks, and FileInfo measures the link.
        try { file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new CheckpointException(path, $"cannot read: {e.Message}"); }
        try
        {
            long fileLength = RandomAccess.GetLength(file);
            if (fileLength < 8) throw new CheckpointException(path, $"truncated: {fileLength} bytes, shorter than the 8-byte header length");
            Span<byte> lenBytes = stackalloc byte[8];
            ReadExactly(file, path, lenBytes, 0, "the header length");
            ulong headerLen = BitConverter.ToUInt64(lenBytes);
            if (headerLen > (ulong)(fileLength - 8))
                throw new CheckpointException(path, $"truncated: header says {headerLen} bytes of JSON but only {fileLength - 8} follow");
            if (headerLen > MaxHeaderBytes)
                throw new CheckpointException(path, $"header of {headerLen} bytes is larger than the {MaxHeaderBytes} allowed");
            var header = new byte[headerLen];
            ReadExactly(file, path, header, 8, "the header");
            long dataStart = 8 + header.LongLength;
            var (entries, metadata) = ParseHeader(path, header, fileLength - dataStart);
            return new SafeTensorsFile(path, file, dataStart, entries, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="buffer"/> from <paramref name="offset"/>; a file shorter than its header said (changed since it was opened) or unreadable is a CheckpointException.</summary>
    private static void ReadExactly(SafeFileHandle file, string path, Span<byte> buffer, long offset, string what)
    {
        try
        {
            while (buffer.Length > 0)
            {
                int n = RandomAccess.Read(file, buffer, offset);
                if (n == 0) throw new CheckpointException(path, $"truncated while reading {what}: the file ends at byte {offset} (was it changed after it was opened?)");
                buffer = buffer[n..];
                offset += n;
            }
        }
        catch (IOException e) { throw new CheckpointException(path, $"cannot read {what}: {e.Message}"); }
    }

    private static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        // The parser checks the structure but leaves strings to be decoded on use, where bad UTF-8 would throw.
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw new CheckpointException(path, "header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new CheckpointException(path, $"header is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, "header is not a JSON object");
            var entries = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool metadataSeen = false;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                // JSON allows a repeated key; the safetensors library refuses it, and either copy would be a guess.
                if (prop.Name == "__metadata__")
                {
                    if (metadataSeen) throw new CheckpointException(path, "__metadata__ appears twice in the header");
                    metadataSeen = true;
                    ParseMetadata(path, prop.Value, metadata);
                    continue;
                }
                if (entries.ContainsKey(prop.Name)) throw new CheckpointException(path, $"tensor '{prop.Name}' appears twice in the header");
                entries[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLength);
            }
            CheckLayout(path, entries.Values, dataLength);
            return (entries, metadata);
        }
    }

    /// <summary>__metadata__ is a map of strings to strings (or null), as the safetensors library requires.</summary>
    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, $"__metadata__ must be an object of strings, got {Kind(value)}");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new CheckpointException(path, $"__metadata__['{m.Name}'] must be a string, got {Kind(m.Value)}");
            metadata[m.Name] = m.Value.GetString()!;
        }
    }

    /// <summary>A JSON value's type in words, for messages.</summary>
    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "a list",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static TensorEntry ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        void Fail(string why) => throw new CheckpointException(path, $"tensor '{name}': {why}");
        if (e.ValueKind != JsonValueKind.Object) Fail($"entry must be an object, got {Kind(e)}");
        if (!e.TryGetProperty("dtype", out var dt)) Fail("missing dtype");
        if (dt.ValueKind != JsonValueKind.String) Fail($"dtype must be a string, got {Kind(dt)}");
        string dtypeName = dt.GetString()!;
        if (!DTypeNames.TryGetValue(dtypeName, out var dtype))
            Fail($"unknown dtype '{dtypeName}' (known: {string.Join(", ", DTypeNames.Keys)})");
        if (!e.TryGetProperty("shape", out var sh)) Fail("missing shape");
        if (sh.ValueKind != JsonValueKind.Array) Fail($"shape must be a list of sizes, got {Kind(sh)}");
        var shape = new List<int>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0)
                Fail($"shape {sh.GetRawText()}: {(d.ValueKind == JsonValueKind.Number ? d.GetRawText() : Kind(d))} is not a size");
            shape.Add(d.GetInt32());
        }
        if (!e.TryGetProperty("data_offsets", out var off)) Fail("missing data_offsets");
        if (off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            Fail($"data_offsets must be a list [begin, end], got {(off.ValueKind == JsonValueKind.Array ? off.GetRawText() : Kind(off))}");
        foreach (var o in off.EnumerateArray())
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out long v) || v < 0)
                Fail($"data_offsets {off.GetRawText()}: {(o.ValueKind == JsonValueKind.Number ? o.GetRawText() : Kind(o))} is not a byte offset");
        long begin = off[0].GetInt64(), end = off[1].GetInt64();
        if (end < begin) Fail($"data_offsets [{begin}, {end}] end before they begin");
        if (end > dataLength)
            Fail($"data_offsets [{begin}, {end}] point past the end of the data ({dataLength} bytes; file truncated?)");
        long count = 0;
        try { count = Tensor.ShapeSize(shape.ToArray()); }
        catch (Exception ex) when (ex is ArgumentException or OverflowException) { Fail($"shape [{string.Join(", ", shape)}] is too large"); }
        long bytes = count * ElementSize(dtype);
        if (end - begin != bytes)
            Fail($"{dtype} [{string.Join(", ", shape)}] needs {bytes} bytes but data_offsets span {end - begin}");
        return new TensorEntry(name, dtype, shape.ToArray(), begin, end, path);
    }

    private static readonly Dictionary<string, StoredDType> DTypeNames = new(StringComparer.Ordinal)
    {
        ["F32"] = StoredDType.F32, ["F16"] = StoredDType.F16, ["BF16"] = StoredDType.BF16, ["F64"] = StoredDType.F64,
        ["I64"] = StoredDType.I64, ["I32"] = StoredDType.I32, ["I16"] = StoredDType.I16, ["I8"] = StoredDType.I8,
        ["U8"] = StoredDType.U8, ["U16"] = StoredDType.U16, ["U32"] = StoredDType.U32, ["U64"] = StoredDType.U64, ["BOOL"] = StoredDType.Bool,
    };

    private static int ElementSize(StoredDType t) => t switch
    {
        StoredDType.F64 or StoredDType.I64 or StoredDType.U64 => 8,
        StoredDType.F32 or StoredDType.I32 or StoredDType.U32 => 4,
        StoredDType.F16 or StoredDType.BF16 or StoredDType.I16 or StoredDType.U16 => 2,
        _ => 1,
    };

    /// <summary>
    /// The tensors tile the data exactly, in any order, as the safetensors library requires: no overlap (two tensors
    /// sharing bytes), no gap and nothing after the last one (bytes no tensor accounts for: a sign of a lying header).
    /// </summary>
    private static void CheckLayout(string path, IEnumerable<TensorEntry> entries, long dataLength)
    {
        TensorEntry? prev = null;
        long covered = 0;
        foreach (var e in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
        {
            if (prev is not null && e.Begin < prev.End)
                throw new CheckpointException(path, $"tensors '{prev.Name}' and '{e.Name}' overlap ([{prev.Begin}, {prev.End}) and [{e.Begin}, {e.End}))");
            if (e.Begin > covered)
                throw new CheckpointException(path, $"bytes [{covered}, {e.Begin}) of the data before tensor '{e.Name}' belong to no tensor");
            covered = e.End;
            prev = e;
        }
        if (covered != dataLength)
            throw new CheckpointException(path, $"the data has {dataLength - covered} bytes after the last tensor, which belong to no tensor");
    }

    /// <summary>Reads one tensor into a new float32 tensor of its shape: floats are widened or narrowed, integers and booleans converted.</summary>
    /// <param name="name">The tensor's name in the header.</param>
    /// <exception cref="CheckpointException">The file has no tensor of that name.</exception>
    public Tensor Read(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new CheckpointException(Path, $"no tensor '{name}'");
        var data = GC.AllocateUninitializedArray<float>(checked((int)e.ElementCount));
        if (data.Length > 0) ReadInto(e, data);
        return new Tensor(data, e.Shape);
    }

    /// <summary>Reads an F16 or BF16 tensor as stored, without widening.</summary>
    internal HalfTensor ReadHalf(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new CheckpointException(Path, $"no tensor '{name}'");
        var kind = e.DType switch
        {
            StoredDType.F16 => HalfKind.F16,
            StoredDType.BF16 => HalfKind.BF16,
            _ => throw new CheckpointException(Path, $"tensor '{name}' is {e.DType}, not a 16-bit float"),
        };
        var bits = GC.AllocateUninitializedArray<ushort>(checked((int)e.ElementCount));
        ReadBytes(e, 0, MemoryMarshal.AsBytes(bits.AsSpan()));
        return new HalfTensor(bits, kind, e.Shape);
    }

    /// <summary>Bytes of a tensor's data from <paramref name="skip"/> on, in reads of at most 1 GiB (one call's limit is 2 GiB).</summary>
    private void ReadBytes(TensorEntry e, long skip, Span<byte> dst)
    {
        for (long done = 0; done < dst.Length;)
        {
            int n = (int)Math.Min(dst.Length - done, 1L << 30);
            ReadExactly(_file, Path, dst.Slice((int)done, n), _dataStart + e.Begin + skip + done, $"tensor '{e.Name}'");
            done += n;
        }
    }

    private void ReadInto(TensorEntry e, float[] dst)
    {
        if (e.DType == StoredDType.F32)
        {
            // Straight into the tensor's buffer: nothing of the file stays with the process.
            ReadBytes(e, 0, MemoryMarshal.AsBytes(dst.AsSpan()));
            return;
        }
        // Other types go through a staging buffer a few hundred kilobytes long, converted as they come.
        int size = ElementSize(e.DType), perChunk = (256 << 10) / size;
        byte[] stage = ArrayPool<byte>.Shared.Rent(perChunk * size);
        try
        {
            for (int at = 0; at < dst.Length; at += perChunk)
            {
                int count = Math.Min(perChunk, dst.Length - at);
                var src = stage.AsSpan(0, count * size);
                ReadBytes(e, (long)at * size, src);
                Convert(e.DType, src, dst.AsSpan(at, count));
            }
        }
        finally { ArrayPool<byte>.Shared.Return(stage); }
    }

    private static void Convert(StoredDType dtype, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (dtype)
        {
            case StoredDType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
                break;
            case StoredDType.BF16:
                HalfConvert.Widen(MemoryMarshal.Cast<byte, ushort>(src), HalfKind.BF16, dst);
                break;
            // Integer and double tensors (labels, counters, reference outputs) are widened or narrowed to float.
            case StoredDType.F64: Widen(MemoryMarshal.Cast<byte, double>(src), dst, v => (float)v); break;
            case StoredDType.I64: Widen(MemoryMarshal.Cast<byte, long>(src), dst, v => v); break;
            case StoredDType.U64: Widen(MemoryMarshal.Cast<byte, ulong>(src), dst, v => v); break;
            case StoredDType.I32: Widen(MemoryMarshal.Cast<byte, int>(src), dst, v => v); break;
            case StoredDType.U32: Widen(MemoryMarshal.Cast<byte, uint>(src), dst, v => v); break;
            case StoredDType.I16: Widen(MemoryMarshal.Cast<byte, short>(src), dst, v => v); break;
            case StoredDType.U16: Widen(MemoryMarshal.Cast<byte, ushort>(src), dst, v => v); break;
            case StoredDType.I8: Widen(MemoryMarshal.Cast<byte, sbyte>(src), dst, v => v); break;
            default: Widen(src, dst, v => v); break; // U8 and Bool
        }
    }

    private static void Widen<T>(ReadOnlySpan<T> src, Span<float> dst, Func<T, float> convert)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = convert(src[i]);
    }

    /// <summary>
    /// Writes a .safetensors file as the safetensors library does: tensors ordered by element size (largest first, so
    /// every tensor is aligned) then name, the header padded with spaces to a multiple of 8 bytes. Each tensor's bytes are
    /// asked for when it is written, so a large checkpoint is never held whole; the file appears whole or not at all.
    /// </summary>
    /// <param name="path">The .safetensors file to write.</param>
    /// <param name="tensors">The tensors, with unique names.</param>
    /// <param name="metadata">The header's "__metadata__" strings; null: none.</param>
    /// <exception cref="ArgumentException">A tensor's bytes are not as many as its dtype and shape need.</exception>
    public static void Write(string path, IReadOnlyList<TensorToWrite> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors.OrderByDescending(t => ElementSize(t.DType)).ThenBy(t => t.Name, StringComparer.Ordinal).ToList();
        using var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                long bytes = Tensor.ShapeSize(t.Shape) * ElementSize(t.DType);
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", DTypeNames.First(d => d.Value == t.DType).Key);
                json.WriteStartArray("shape");
                foreach (int d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        while (header.Length % 8 != 0) header.WriteByte((byte)' ');
        IO.AtomicFile.Write(path, s =>
        {
            s.Write(BitConverter.GetBytes((ulong)header.Length));
            header.Position = 0;
            header.CopyTo(s);
            foreach (var t in ordered)
            {
                var data = t.Bytes();
                long expected = Tensor.ShapeSize(t.Shape) * ElementSize(t.DType);
                if (data.Length != expected)
                    throw new ArgumentException($"tensor '{t.Name}': {t.DType} [{string.Join(", ", t.Shape)}] is {expected} bytes, {data.Length} given");
                s.Write(data.Span);
            }
        });
    }

    /// <summary>Closes the file. Tensors already read stay valid: they are copies.</summary>
    public void Dispose() => _file.Dispose();
}
