using System.Text;
using System.Text.Json;

namespace DepthSharp.Tests.Checkpoints;

/// <summary>Builds safetensors files byte by byte, including deliberately broken ones.</summary>
internal static class SafeTensorsWriter
{
    public static byte[] Build(string headerJson, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + data.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary>A valid F32 file holding the given tensors back to back.</summary>
    public static byte[] BuildF32(params (string Name, int[] Shape, float[] Values)[] tensors)
    {
        var header = new Dictionary<string, object>();
        var data = new List<byte>();
        foreach (var (name, shape, values) in tensors)
        {
            int begin = data.Count;
            foreach (var v in values) data.AddRange(BitConverter.GetBytes(v));
            header[name] = new Dictionary<string, object> { ["dtype"] = "F32", ["shape"] = shape, ["data_offsets"] = new[] { begin, data.Count } };
        }
        return Build(JsonSerializer.Serialize(header), data.ToArray());
    }
}
