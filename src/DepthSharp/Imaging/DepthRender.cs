using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DepthSharp.IO;

namespace DepthSharp.Imaging;

/// <summary>The colour maps depth is drawn with (matplotlib's tables, 256 entries each); the first colour is for the far end.</summary>
public enum Colormap
{
    /// <summary>Google's Turbo: dark blue through green and yellow to dark red.</summary>
    Turbo,
    /// <summary>matplotlib's viridis: dark purple to yellow, perceptually uniform.</summary>
    Viridis,
    /// <summary>matplotlib's inferno: black through red to pale yellow, perceptually uniform.</summary>
    Inferno,
    /// <summary>matplotlib's magma: black through purple to pale yellow, perceptually uniform.</summary>
    Magma,
    /// <summary>Grey levels from black to white.</summary>
    Gray,
}

/// <summary>Pictures and files made from depth maps (row-major float values, width * height of them).</summary>
internal static class DepthRender
{
    private static readonly byte[][] Luts = BuildLuts();

    /// <summary>
    /// Bytes as matplotlib's cmap(..., bytes=True) gives them: each float entry times 255, truncated.
    /// Gray is matplotlib's linear segment i * (1/255), so a few entries land one below i after truncation, as there.
    /// </summary>
    private static byte[][] BuildLuts()
    {
        var luts = new byte[5][];
        foreach (Colormap map in Enum.GetValues<Colormap>())
        {
            var lut = new byte[768];
            for (int i = 0; i < 768; i++)
            {
                double v = map switch
                {
                    Colormap.Turbo => ColormapTables.Turbo[i],
                    Colormap.Viridis => ColormapTables.Viridis[i],
                    Colormap.Inferno => ColormapTables.Inferno[i],
                    Colormap.Magma => ColormapTables.Magma[i],
                    _ => i / 3 * (1.0 / 255),
                };
                lut[i] = (byte)(v * 255);
            }
            luts[(int)map] = lut;
        }
        return luts;
    }

    /// <summary>The colormap's 256 RGB entries, 768 bytes.</summary>
    public static ReadOnlySpan<byte> Lut(Colormap map) => Luts[(int)map];

    /// <summary>
    /// Colours a map over its own min..max (inverse: over 1/value, as Apple's DepthPro tool shows turbo over inverse
    /// depth, so near is warm). Indexing follows matplotlib for floats in float32: index = (int)(t * 256), 1.0 → 255.
    /// Non-finite values (and zeros when inverse) are left out of the range and drawn black, matplotlib's "bad" colour.
    /// </summary>
    /// <param name="values">The map.</param>
    /// <param name="width">Its width.</param>
    /// <param name="height">Its height.</param>
    /// <param name="map">The colours.</param>
    /// <param name="inverse">Colour 1/value instead of the value.</param>
    /// <param name="range">
    /// The range (of the coloured values, after any inverse) mapped onto the colours instead of the map's own, e.g. one
    /// range for a whole sequence; values outside it take the end colours.
    /// </param>
    public static RgbImage Colorize(ReadOnlySpan<float> values, int width, int height, Colormap map, bool inverse, (float Min, float Max)? range = null)
    {
        CheckSize(values.Length, width, height);
        float[] v = ColourValues(values, inverse);
        (float min, float max) = range ?? FiniteRange(v);
        float span = max - min;
        ReadOnlySpan<byte> lut = Lut(map);
        var rgb = new byte[v.Length * 3];
        for (int i = 0; i < v.Length; i++)
        {
            if (!float.IsFinite(v[i]))
                continue;
            float t = span > 0 ? Math.Clamp((v[i] - min) / span, 0f, 1f) : 0f;
            float scaled = t * 256f;
            int idx = Math.Clamp((int)scaled, 0, 255);
            rgb[i * 3] = lut[idx * 3];
            rgb[i * 3 + 1] = lut[idx * 3 + 1];
            rgb[i * 3 + 2] = lut[idx * 3 + 2];
        }
        return new RgbImage(width, height, rgb);
    }

    /// <summary>The finite min..max of the values <see cref="Colorize"/> colours (1/value when inverse); (+∞, −∞) when none is finite.</summary>
    public static (float Min, float Max) ColourRange(ReadOnlySpan<float> values, bool inverse) => FiniteRange(ColourValues(values, inverse));

    private static float[] ColourValues(ReadOnlySpan<float> values, bool inverse)
    {
        float[] v = new float[values.Length];
        for (int i = 0; i < v.Length; i++)
            v[i] = inverse ? 1f / values[i] : values[i];
        return v;
    }

    /// <summary>
    /// The transformers depth-estimation pipeline's 8-bit picture: uint8(((d - min) / (max - min)) * 255), truncated,
    /// in float32 and in that order, which matches the reference bit for bit. A constant map gives zeros;
    /// non-finite values are left out of the range and give 0.
    /// </summary>
    public static byte[] PipelineGray8(ReadOnlySpan<float> depth)
    {
        (float min, float max) = FiniteRange(depth);
        float range = max - min;
        var gray = new byte[depth.Length];
        if (!(range > 0))
            return gray;
        for (int i = 0; i < depth.Length; i++)
        {
            if (!float.IsFinite(depth[i]))
                continue;
            float t = (depth[i] - min) / range;
            float scaled = t * 255f;
            gray[i] = (byte)scaled;
        }
        return gray;
    }

    /// <summary>Portable float map, grayscale: "Pf", width height, scale -1 (little-endian), rows bottom to top.</summary>
    public static byte[] EncodePfm(ReadOnlySpan<float> values, int width, int height)
    {
        CheckSize(values.Length, width, height);
        byte[] header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Pf\n{width} {height}\n-1.0\n"));
        var pfm = new byte[header.Length + values.Length * 4L];
        header.CopyTo(pfm, 0);
        int at = header.Length;
        for (int y = height - 1; y >= 0; y--)
        {
            foreach (float f in values.Slice(y * width, width))
            {
                BinaryPrimitives.WriteSingleLittleEndian(pfm.AsSpan(at), f);
                at += 4;
            }
        }
        return pfm;
    }

    public static void WritePfm(string path, ReadOnlySpan<float> values, int width, int height)
    {
        byte[] pfm = EncodePfm(values, width, height);
        AtomicFile.Write(path, s => s.Write(pfm));
    }

    /// <summary>Metric depth in metres to millimetres, rounded (half to even, as numpy) and clamped to 0..65535; non-finite gives 0.</summary>
    public static ushort[] MetricMillimetres16(ReadOnlySpan<float> metres)
    {
        var mm = new ushort[metres.Length];
        for (int i = 0; i < metres.Length; i++)
        {
            if (float.IsFinite(metres[i]))
                mm[i] = (ushort)Math.Clamp(Math.Round(metres[i] * 1000.0), 0, 65535);
        }
        return mm;
    }

    /// <summary>Relative depth stretched over its min..max to 0..65535, rounded; a constant map or non-finite values give 0.</summary>
    public static ushort[] Relative16(ReadOnlySpan<float> depth)
    {
        (float min, float max) = FiniteRange(depth);
        double range = (double)max - min;
        var o = new ushort[depth.Length];
        if (!(range > 0))
            return o;
        for (int i = 0; i < depth.Length; i++)
            if (float.IsFinite(depth[i]))
                o[i] = (ushort)Math.Round(((double)depth[i] - min) / range * 65535.0);
        return o;
    }

    /// <summary>
    /// The photo and a depth picture next to each other. The right picture is scaled (nearest neighbour, aspect kept)
    /// to the photo's height when the two differ, e.g. a raw model output beside the full-size photo.
    /// </summary>
    public static RgbImage SideBySide(RgbImage photo, RgbImage depth)
    {
        int h = photo.Height;
        int rw = depth.Height == h ? depth.Width : (int)Math.Max(1, Math.Round((double)depth.Width * h / depth.Height));
        long total = ((long)photo.Width + rw) * h * 3;
        if (total > Array.MaxLength)
            throw new ArgumentException("side-by-side picture would be too large");
        int ow = photo.Width + rw;
        var px = new byte[total];
        for (int y = 0; y < h; y++)
        {
            Array.Copy(photo.Pixels, (long)y * photo.Width * 3, px, (long)y * ow * 3, photo.Width * 3L);
            int sy = (int)((long)y * depth.Height / h);
            for (int x = 0; x < rw; x++)
            {
                int sx = (int)((long)x * depth.Width / rw);
                long s = ((long)sy * depth.Width + sx) * 3, d = ((long)y * ow + photo.Width + x) * 3;
                px[d] = depth.Pixels[s];
                px[d + 1] = depth.Pixels[s + 1];
                px[d + 2] = depth.Pixels[s + 2];
            }
        }
        return new RgbImage(ow, h, px);
    }

    private static (float Min, float Max) FiniteRange(ReadOnlySpan<float> values)
    {
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (!float.IsFinite(v))
                continue;
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }

    private static void CheckSize(int length, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (length != (long)width * height)
            throw new ArgumentException($"expected {(long)width * height} values for {width}x{height}, got {length}");
    }
}
