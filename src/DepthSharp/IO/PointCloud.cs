using System.Text;
using DepthSharp.Imaging;

namespace DepthSharp.IO;

/// <summary>Binary PLY point clouds: each pixel lifted by its metric depth through a pinhole camera, coloured by the photo.</summary>
public static class PointCloud
{
    /// <summary>
    /// Camera coordinates in metres, x right, y down, z forward (OpenCV's convention), principal point at the picture's
    /// centre: X = (u + 0.5 - W/2)·Z/f, Y = (v + 0.5 - H/2)·Z/f, i.e. fx = fy = f, cx = (W-1)/2, cy = (H-1)/2 (pixel centres
    /// at integers), which the header's comments give. Pixels with no finite positive depth are left out.
    /// The file is written whole to a temporary name and renamed, so it is never left half-written.
    /// </summary>
    /// <param name="path">The .ply file to write.</param>
    /// <param name="photo">The picture, for the points' colours; its size is the depth map's.</param>
    /// <param name="depth">Metric depth in metres, row-major, photo.Width × photo.Height values.</param>
    /// <param name="focalPixels">The focal length in pixels of the picture.</param>
    public static void WritePly(string path, RgbImage photo, float[] depth, double focalPixels) =>
        AtomicFile.Write(path, stream => WritePly(stream, photo, depth, focalPixels));

    /// <summary>The binary little-endian PLY file <see cref="WritePly(string, RgbImage, float[], double)"/> writes, in memory.</summary>
    /// <param name="photo">The picture, for the points' colours; its size is the depth map's.</param>
    /// <param name="depth">Metric depth in metres, row-major, photo.Width × photo.Height values.</param>
    /// <param name="focalPixels">The focal length in pixels of the picture.</param>
    public static byte[] EncodePly(RgbImage photo, float[] depth, double focalPixels)
    {
        using var ms = new MemoryStream();
        WritePly(ms, photo, depth, focalPixels);
        return ms.ToArray();
    }

    private static void WritePly(Stream stream, RgbImage photo, float[] depth, double focalPixels)
    {
        int w = photo.Width, h = photo.Height;
        if (depth.Length != (long)w * h) throw new ArgumentException($"depth has {depth.Length} values for a {w}x{h} photo");
        int count = depth.Count(d => float.IsFinite(d) && d > 0);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var header = $"ply\nformat binary_little_endian 1.0\ncomment DepthSharp point cloud, metres, focal {focalPixels:R} px\n" +
                     string.Create(inv, $"comment intrinsics fx {focalPixels:R} fy {focalPixels:R} cx {(w - 1) / 2.0:R} cy {(h - 1) / 2.0:R}\n") +
                     $"element vertex {count}\nproperty float x\nproperty float y\nproperty float z\n" +
                     "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n";
        stream.Write(Encoding.ASCII.GetBytes(header));
        var record = new byte[15];
        // Not disposed: that would close the caller's stream.
        var buffered = new BufferedStream(stream, 1 << 16);
        for (int v = 0; v < h; v++)
            for (int u = 0; u < w; u++)
            {
                float z = depth[v * w + u];
                if (!float.IsFinite(z) || z <= 0) continue;
                BitConverter.TryWriteBytes(record.AsSpan(0, 4), (float)((u + 0.5 - w / 2.0) * z / focalPixels));
                BitConverter.TryWriteBytes(record.AsSpan(4, 4), (float)((v + 0.5 - h / 2.0) * z / focalPixels));
                BitConverter.TryWriteBytes(record.AsSpan(8, 4), z);
                int p = (v * w + u) * 3;
                record[12] = photo.Pixels[p];
                record[13] = photo.Pixels[p + 1];
                record[14] = photo.Pixels[p + 2];
                buffered.Write(record);
            }
        buffered.Flush();
    }
}
