using DepthSharp.Imaging;
using DepthSharp.IO;

namespace DepthSharp.Tests.IO;

public sealed class PromptDepthFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-prompt-file-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AFloat32NpyMapIsReadRaw()
    {
        string path = Fixtures.Path("models", "prompt_depth_anything_tiny", "prompt_depth0.npy");
        var map = PromptDepthFile.Read(path);
        Assert.Equal([24, 32], map.Shape);
        Assert.Equal(Npy.Read(path).Float32, map.Data);
    }

    [Fact]
    public void AUInt16NpyMapIsReadRaw()
    {
        string path = Path.Combine(_dir, "depth.npy");
        ushort[] mm = [0, 1, 1500, 65535, 300, 2];
        Npy.Write(path, mm, [2, 3]);
        var map = PromptDepthFile.Read(path);
        Assert.Equal([2, 3], map.Shape);
        Assert.Equal(mm.Select(v => (float)v), map.Data);
    }

    [Fact]
    public void ASixteenBitGrayPngIsReadRaw()
    {
        // The decoding fixture's 16-bit gray PNG and the samples a reference decoder gives for it.
        var map = PromptDepthFile.Read(Path.Combine(Fixtures.Images, "png_gray16.png"));
        var expected = Npy.Read(Path.Combine(Fixtures.Images, "png_gray16.expected.npy"));
        Assert.Equal(expected.Shape, map.Shape);
        Assert.Equal(expected.UInt16!.Select(v => (float)v), map.Data);
    }

    [Fact]
    public void TheFormatComesFromTheBytesNotTheName()
    {
        string path = Path.Combine(_dir, "depth.dat");
        File.WriteAllBytes(path, PngEncoder.EncodeGray16([1, 2, 3, 4, 5, 6], 3, 2));
        Assert.Equal([2, 3], PromptDepthFile.Read(path).Shape);
    }

    public static TheoryData<string, string> BadFiles => new()
    {
        { "missing", "cannot read" },
        { "empty", "empty file" },
        { "text", "neither a .npy array nor a PNG image" },
        { "npy 3-D", "a prompt depth map is [height, width], this array is (1, 2, 3)" },
        { "npy 1-D", "a prompt depth map is [height, width], this array is (6)" },
        { "npy empty", "the map is empty (0x3)" },
        { "npy uint8", "dtype '|u1' is not supported for depth (float32 or uint16)" },
        { "npy truncated", "not a usable .npy array: truncated" },
        { "png 8-bit gray", "a prompt depth PNG must be 16-bit grayscale, this one is 8-bit with 1 channel(s)" },
        { "png 16-bit RGB", "a prompt depth PNG must be 16-bit grayscale, this one is 16-bit with 3 channel(s)" },
        { "png truncated", "not a usable PNG: truncated" },
        { "too large", "too large for a prompt depth map" },
        { "link to too large", "too large for a prompt depth map" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFilesAreRefusedByName(string what, string message)
    {
        string path = Path.Combine(_dir, "prompt.bin");
        byte[] npy = Npy.Encode([1f, 2f, 3f, 4f, 5f, 6f], [2, 3]);
        byte[] png = PngEncoder.EncodeGray16([1, 2, 3, 4, 5, 6], 3, 2);
        switch (what)
        {
            case "missing": break;
            case "empty": File.WriteAllBytes(path, []); break;
            case "text": File.WriteAllText(path, "1500, 1600\n1700, 1800\n"); break;
            case "npy 3-D": File.WriteAllBytes(path, Npy.Encode([1f, 2f, 3f, 4f, 5f, 6f], [1, 2, 3])); break;
            case "npy 1-D": File.WriteAllBytes(path, Npy.Encode([1f, 2f, 3f, 4f, 5f, 6f], [6])); break;
            case "npy empty": File.WriteAllBytes(path, Npy.Encode(ReadOnlySpan<float>.Empty, [0, 3])); break;
            case "npy uint8": File.WriteAllBytes(path, Npy.Encode([1, 2, 3, 4, 5, 6], [2, 3])); break;
            case "npy truncated": File.WriteAllBytes(path, npy[..^5]); break;
            case "png 8-bit gray": File.WriteAllBytes(path, PngEncoder.EncodeGray8([1, 2, 3, 4, 5, 6], 3, 2)); break;
            case "png 16-bit RGB": File.WriteAllBytes(path, PngEncoder.EncodeRgb16(new ushort[18], 3, 2)); break;
            case "png truncated": File.WriteAllBytes(path, png[..^20]); break;
            case "link to too large":
                // Measured through the link, as a Hub cache's symlinks are: the target's length counts.
                string target = Path.Combine(_dir, "target.bin");
                using (var t = File.Create(target)) t.SetLength(PromptDepthFile.MaxFileBytes + 1);
                File.CreateSymbolicLink(path, target);
                break;
            default:
                // A sparse file: its length is over the limit without the disk space.
                using (var f = File.Create(path)) f.SetLength(PromptDepthFile.MaxFileBytes + 1);
                break;
        }
        var e = Assert.Throws<PromptDepthException>(() => PromptDepthFile.Read(path));
        Assert.Contains(message, e.Message);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Equal(path, e.FileName);
    }
}
