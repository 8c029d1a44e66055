using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.IO;

/// <summary>
/// Reads a prompt depth map (Prompt Depth Anything's second input) as it is stored: a .npy array [height, width] of
/// float32 or uint16, or a 16-bit grayscale PNG as phones store depth. Values come back raw (millimetres for a phone's
/// depth), which is what the reference's processor takes; the processor scales them to metres. Which format a file is
/// comes from its first bytes, not its name.
/// </summary>
public static class PromptDepthFile
{
    /// <summary>Files larger than this are refused before they are read: a float32 map of 100 megapixels and its header.</summary>
    public const long MaxFileBytes = 400_001_024;

    private static ReadOnlySpan<byte> NpyMagic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The map [height, width] in <paramref name="path"/>.</summary>
    /// <exception cref="PromptDepthException">The file cannot be read, is too large, or is not a map in a supported format.</exception>
    public static Tensor Read(string path)
    {
        byte[] data;
        try
        {
            // The opened file's length: FileInfo would measure a symlink (a Hub cache holds them), not its target.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = stream.Length;
            if (length > MaxFileBytes) throw new PromptDepthException(path, $"{length} bytes is too large for a prompt depth map (at most {MaxFileBytes})");
            data = new byte[length];
            stream.ReadExactly(data);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PromptDepthException(path, $"cannot read: {e.Message}", e);
        }
        return Read(data, path);
    }

    /// <summary>The map [height, width] held in <paramref name="data"/>; <paramref name="fileName"/> names it in errors.</summary>
    /// <exception cref="PromptDepthException">The bytes are not a map in a supported format.</exception>
    public static Tensor Read(ReadOnlySpan<byte> data, string? fileName = null)
    {
        if (data.StartsWith(NpyMagic)) return FromNpy(data, fileName);
        if (data.StartsWith(PngSignature)) return FromPng(data, fileName);
        throw new PromptDepthException(fileName, data.IsEmpty ? "empty file" : "neither a .npy array nor a PNG image");
    }

    private static Tensor FromNpy(ReadOnlySpan<byte> data, string? fileName)
    {
        NpyArray array;
        // Read without the name, whose message is then the bare problem, worded here as the prompt's.
        try { array = Npy.Read(data); }
        catch (NpyFormatException e) { throw new PromptDepthException(fileName, $"not a usable .npy array: {e.Message}", e); }
        if (array.Shape.Length != 2)
            throw new PromptDepthException(fileName, $"a prompt depth map is [height, width], this array is ({string.Join(", ", array.Shape)})");
        int h = array.Shape[0], w = array.Shape[1];
        if (h == 0 || w == 0) throw new PromptDepthException(fileName, $"the map is empty ({h}x{w})");
        // Both are exact in float32; 8-bit values are a picture of depth rather than a depth.
        if (array.Float32 is { } f) return new Tensor(f, h, w);
        if (array.UInt16 is { } u) return Widen(u, h, w);
        throw new PromptDepthException(fileName, $"dtype '{array.Descr}' is not supported for depth (float32 or uint16)");
    }

    private static Tensor FromPng(ReadOnlySpan<byte> data, string? fileName)
    {
        PngImage png;
        try { png = PngDecoder.Decode(data); }
        catch (ImageFormatException e) { throw new PromptDepthException(fileName, $"not a usable PNG: {e.Message}", e); }
        // Phones store depth as one 16-bit channel (millimetres); 8 bits or colour would be a rendering of depth.
        if (png.Channels != 1 || png.BitDepth != 16)
            throw new PromptDepthException(fileName,
                $"a prompt depth PNG must be 16-bit grayscale, this one is {png.BitDepth}-bit with {png.Channels} channel(s)");
        return Widen(png.Samples16!, png.Height, png.Width);
    }

    private static Tensor Widen(ushort[] samples, int h, int w)
    {
        var values = new float[samples.Length];
        for (int i = 0; i < values.Length; i++) values[i] = samples[i];
        return new Tensor(values, h, w);
    }
}
