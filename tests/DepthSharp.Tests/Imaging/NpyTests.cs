using System.Text;
using DepthSharp.IO;

namespace DepthSharp.Tests.Imaging;

public sealed class NpyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-npy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Float32RoundTripsWithANumpyV1Header()
    {
        string path = Path.Combine(_dir, "f.npy");
        float[] v = [1.5f, -2f, float.MaxValue, 0f, 1e-30f, 7f];
        Npy.Write(path, v, [2, 3]);
        byte[] file = File.ReadAllBytes(path);
        Assert.Equal("\u0093NUMPY\u0001\u0000", Encoding.Latin1.GetString(file, 0, 8));
        int headerLength = file[8] | file[9] << 8;
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(file, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header, StringComparison.Ordinal);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);

        NpyArray a = Npy.Read(path);
        Assert.Equal("<f4", a.Descr);
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal(v, a.Float32);
    }

    [Fact]
    public void Uint8AndUint16RoundTrip()
    {
        NpyArray u8 = Npy.Read(Npy.Encode([1, 2, 255], [3]));
        Assert.Equal([3], u8.Shape);
        Assert.Equal(new byte[] { 1, 2, 255 }, u8.UInt8);
        Assert.Contains("'shape': (3,)", Encoding.ASCII.GetString(Npy.Encode([1, 2, 255], [3])), StringComparison.Ordinal);

        NpyArray u16 = Npy.Read(Npy.Encode(new ushort[] { 0, 65535, 258, 4 }, [2, 1, 2]));
        Assert.Equal("<u2", u16.Descr);
        Assert.Equal([2, 1, 2], u16.Shape);
        Assert.Equal(new ushort[] { 0, 65535, 258, 4 }, u16.UInt16);
    }

    [Fact]
    public void ShapeMustMatchTheValues() =>
        Assert.Throws<ArgumentException>(() => Npy.Encode(new float[5], [2, 3]));

    private static byte[] WithHeader(string dict, int dataBytes)
    {
        int total = (10 + dict.Length + 1 + 63) / 64 * 64;
        string header = dict + new string(' ', total - 10 - dict.Length - 1) + "\n";
        return [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0,
                .. Encoding.ASCII.GetBytes(header), .. new byte[dataBytes]];
    }

    public static TheoryData<string, byte[]> Broken() => new()
    {
        { "magic", "not numpy at all"u8.ToArray() },
        { "truncated", WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20) },
        { "needs 24", WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28) },
        { "dtype", WithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16) },
        { "Fortran", WithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", 8) },
        { "malformed header", WithHeader("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8) },
        { "malformed header", WithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8) },
        { "lacks", WithHeader("{'descr': '<f4', 'fortran_order': False, }", 8) },
        { "version", [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 9, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void BrokenFilesAreRefusedNamingTheFile(string problem, byte[] data)
    {
        var e = Assert.Throws<NpyFormatException>(() => Npy.Read(data, "x.npy"));
        Assert.Equal("x.npy", e.FileName);
        Assert.StartsWith("x.npy: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }
}
