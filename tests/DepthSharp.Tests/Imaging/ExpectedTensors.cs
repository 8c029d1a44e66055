using System.Buffers.Binary;
using System.Text.Json;

namespace DepthSharp.Tests.Imaging;

/// <summary>Just enough safetensors reading (F32 and U8) to get reference tensors out of the fixtures' expected.safetensors.</summary>
internal sealed class ExpectedTensors
{
    private readonly byte[] _file;
    private readonly long _dataStart;
    private readonly Dictionary<string, JsonElement> _header;

    public ExpectedTensors(string path)
    {
        _file = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(_file);
        _dataStart = 8 + n;
        _header = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(_file.AsSpan(8, (int)n))!;
    }

    public bool Has(string name) => _header.ContainsKey(name);

    public int[] Shape(string name) => _header[name].GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private ReadOnlySpan<byte> Bytes(string name, string dtype)
    {
        JsonElement e = _header[name];
        Assert.Equal(dtype, e.GetProperty("dtype").GetString());
        long start = e.GetProperty("data_offsets")[0].GetInt64(), end = e.GetProperty("data_offsets")[1].GetInt64();
        return _file.AsSpan((int)(_dataStart + start), (int)(end - start));
    }

    public float[] F32(string name)
    {
        ReadOnlySpan<byte> b = Bytes(name, "F32");
        var f = new float[b.Length / 4];
        for (int i = 0; i < f.Length; i++)
            f[i] = BinaryPrimitives.ReadSingleLittleEndian(b[(i * 4)..]);
        return f;
    }

    public byte[] U8(string name) => Bytes(name, "U8").ToArray();
}
