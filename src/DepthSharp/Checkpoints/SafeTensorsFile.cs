using System.IO.MemoryMappedFiles;
using System.Text.Json;
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

/// <summary>
/// A memory-mapped .safetensors file: an 8-byte little-endian header length, a JSON header, then raw data.
/// The header is checked whole on open (dtypes, shapes, offsets inside the file, no overlaps), so a lying file is
/// refused before any tensor is read.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L << 20;
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly long _dataStart;

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Every tensor in the file by name.</summary>
    public IReadOnlyDictionary<string, TensorEntry> Entries { get; }

    /// <summary>The header's "__metadata__" strings (e.g. "format": "pt"); empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, long dataStart,
        Dictionary<string, TensorEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _map = map; _view = view; _dataStart = dataStart; Entries = entries; Metadata = metadata;
    }

    /// <summary>Opens and memory-maps <paramref name="path"/> after checking its whole header.</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <exception cref="CheckpointException">The file is missing, unreadable, truncated, its header is over 100 MiB or is not valid
    /// JSON, or an entry has an unknown dtype, a bad shape, or data offsets outside the file, of the wrong size or overlapping another's.</exception>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        long fileLength;
        // The stream's length, not FileInfo's: a Hub cache snapshot holds symlinks, and FileInfo measures the link.
        try { using var probe = File.OpenRead(path); fileLength = probe.Length; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new CheckpointException(path, $"cannot read: {e.Message}"); }
        if (fileLength < 8) throw new CheckpointException(path, $"truncated: {fileLength} bytes, shorter than the 8-byte header length");

        byte[] header;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            Span<byte> lenBytes = stackalloc byte[8];
            fs.ReadExactly(lenBytes);
            ulong headerLen = BitConverter.ToUInt64(lenBytes);
            if (headerLen > (ulong)(fileLength - 8))
                throw new CheckpointException(path, $"truncated: header says {headerLen} bytes of JSON but only {fileLength - 8} follow");
            if (headerLen > MaxHeaderBytes)
                throw new CheckpointException(path, $"header of {headerLen} bytes is larger than the {MaxHeaderBytes} allowed");
            header = new byte[headerLen];
            fs.ReadExactly(header);
        }
        long dataStart = 8 + header.LongLength;
        long dataLength = fileLength - dataStart;
        var (entries, metadata) = ParseHeader(path, header, dataLength);

        if (dataLength == 0)
            return new SafeTensorsFile(path, null, null, dataStart, entries, metadata);
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
        return new SafeTensorsFile(path, map, view, dataStart, entries, metadata);
    }

    private static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new CheckpointException(path, $"header is not valid JSON: {e.Message}"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, "header is not a JSON object");
            var entries = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                entries[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLength);
            }
            CheckOverlaps(path, entries.Values);
            return (entries, metadata);
        }
    }

    private static TensorEntry ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, $"tensor '{name}': entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new CheckpointException(path, $"tensor '{name}': missing dtype");
        string dtypeName = dt.GetString()!;
        if (!DTypeNames.TryGetValue(dtypeName, out var dtype))
            throw new CheckpointException(path, $"tensor '{name}': unknown dtype '{dtypeName}' (known: {string.Join(", ", DTypeNames.Keys)})");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new CheckpointException(path, $"tensor '{name}': missing shape");
        var shape = new List<int>();
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0)
                throw new CheckpointException(path, $"tensor '{name}': bad dimension {d.GetRawText()} in shape");
            shape.Add(v);
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new CheckpointException(path, $"tensor '{name}': data_offsets must be [begin, end]");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new CheckpointException(path, $"tensor '{name}': bad data_offsets {off.GetRawText()}");
        if (end > dataLength)
            throw new CheckpointException(path, $"tensor '{name}': data_offsets [{begin}, {end}] point past the end of the data ({dataLength} bytes; file truncated?)");
        long count;
        try { count = Tensor.ShapeSize(shape.ToArray()); }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        { throw new CheckpointException(path, $"tensor '{name}': shape [{string.Join(", ", shape)}] is too large"); }
        long bytes = count * ElementSize(dtype);
        if (end - begin != bytes)
            throw new CheckpointException(path, $"tensor '{name}': {dtype} [{string.Join(", ", shape)}] needs {bytes} bytes but data_offsets span {end - begin}");
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

    private static void CheckOverlaps(string path, IEnumerable<TensorEntry> entries)
    {
        TensorEntry? prev = null;
        foreach (var e in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
        {
            if (prev is not null && e.Begin < prev.End)
                throw new CheckpointException(path, $"tensors '{prev.Name}' and '{e.Name}' overlap ([{prev.Begin}, {prev.End}) and [{e.Begin}, {e.End}))");
            prev = e;
        }
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
    internal unsafe HalfTensor ReadHalf(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new CheckpointException(Path, $"no tensor '{name}'");
        var kind = e.DType switch
        {
            StoredDType.F16 => HalfKind.F16,
            StoredDType.BF16 => HalfKind.BF16,
            _ => throw new CheckpointException(Path, $"tensor '{name}' is {e.DType}, not a 16-bit float"),
        };
        var bits = GC.AllocateUninitializedArray<ushort>(checked((int)e.ElementCount));
        byte* basePtr = null;
        _view!.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            new ReadOnlySpan<ushort>(basePtr + _view.PointerOffset + _dataStart + e.Begin, bits.Length).CopyTo(bits);
        }
        finally { _view.SafeMemoryMappedViewHandle.ReleasePointer(); }
        return new HalfTensor(bits, kind, e.Shape);
    }

    private unsafe void ReadInto(TensorEntry e, float[] dst)
    {
        byte* basePtr = null;
        _view!.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            byte* src = basePtr + _view.PointerOffset + _dataStart + e.Begin;
            switch (e.DType)
            {
                case StoredDType.F32:
                    new ReadOnlySpan<float>(src, dst.Length).CopyTo(dst);
                    break;
                case StoredDType.F16:
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, dst.Length), dst);
                    break;
                case StoredDType.BF16:
                    fixed (float* d = dst) HalfConvert.Widen((ushort*)src, HalfKind.BF16, d, dst.Length);
                    break;
                // Integer and double tensors (labels, counters, reference outputs) are widened or narrowed to float.
                case StoredDType.F64: Widen(new ReadOnlySpan<double>(src, dst.Length), dst, v => (float)v); break;
                case StoredDType.I64: Widen(new ReadOnlySpan<long>(src, dst.Length), dst, v => v); break;
                case StoredDType.U64: Widen(new ReadOnlySpan<ulong>(src, dst.Length), dst, v => v); break;
                case StoredDType.I32: Widen(new ReadOnlySpan<int>(src, dst.Length), dst, v => v); break;
                case StoredDType.U32: Widen(new ReadOnlySpan<uint>(src, dst.Length), dst, v => v); break;
                case StoredDType.I16: Widen(new ReadOnlySpan<short>(src, dst.Length), dst, v => v); break;
                case StoredDType.U16: Widen(new ReadOnlySpan<ushort>(src, dst.Length), dst, v => v); break;
                case StoredDType.I8: Widen(new ReadOnlySpan<sbyte>(src, dst.Length), dst, v => v); break;
                case StoredDType.U8: case StoredDType.Bool: Widen(new ReadOnlySpan<byte>(src, dst.Length), dst, v => v); break;
            }
        }
        finally { _view.SafeMemoryMappedViewHandle.ReleasePointer(); }
    }

    private static void Widen<T>(ReadOnlySpan<T> src, Span<float> dst, Func<T, float> convert)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = convert(src[i]);
    }

    /// <summary>Unmaps and closes the file. Tensors already read stay valid: they are copies.</summary>
    public void Dispose()
    {
        _view?.Dispose();
        _map?.Dispose();
    }
}
