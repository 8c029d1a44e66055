using System.Buffers.Binary;
using System.Text;

namespace DepthSharp.Imaging;

/// <summary>The EXIF fields depth estimation uses: orientation, and what it takes to know the focal length.</summary>
public sealed class ExifData
{
    /// <summary>Diagonal of a 36 x 24 mm frame, the reference for 35 mm-equivalent focal lengths.</summary>
    internal static readonly double FullFrameDiagonalMm = Math.Sqrt(36.0 * 36.0 + 24.0 * 24.0);

    /// <summary>EXIF orientation 1..8; 1 (upright) when absent or invalid.</summary>
    public int Orientation { get; init; } = 1;
    /// <summary>FocalLength (0x920A), millimetres.</summary>
    public double? FocalLengthMm { get; init; }
    /// <summary>FocalLengthIn35mmFilm (0xA405), millimetres; absent when missing or 0 (EXIF's "unknown").</summary>
    public int? FocalLength35mm { get; init; }
    /// <summary>FocalPlaneXResolution (0xA20E): sensor pixels per <see cref="FocalPlaneResolutionUnit"/> across the picture's width.</summary>
    public double? FocalPlaneXResolution { get; init; }
    /// <summary>FocalPlaneYResolution (0xA20F): sensor pixels per <see cref="FocalPlaneResolutionUnit"/> along its height.</summary>
    public double? FocalPlaneYResolution { get; init; }
    /// <summary>FocalPlaneResolutionUnit: 2 inch, 3 cm (EXIF), 4 mm, 5 µm (TIFF/EP); EXIF's default is inch.</summary>
    public int? FocalPlaneResolutionUnit { get; init; }
    /// <summary>PixelXDimension (0xA002): the width in pixels the camera recorded, which the focal-plane resolution refers to.</summary>
    public int? PixelXDimension { get; init; }
    /// <summary>PixelYDimension (0xA003): the height in pixels the camera recorded.</summary>
    public int? PixelYDimension { get; init; }
    /// <summary>Make (0x010F): the camera's maker.</summary>
    public string? Make { get; init; }
    /// <summary>Model (0x0110): the camera's model.</summary>
    public string? Model { get; init; }
    /// <summary>What was wrong with the block and skipped, each naming the file; a broken tag never fails the picture.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>
    /// FocalLengthIn35mmFilm when given; else FocalLength times the crop factor, 43.27 mm over the sensor
    /// diagonal, which the focal-plane resolution and the pixel dimensions give; else null.
    /// </summary>
    public double? FocalLength35mmEquivalent()
    {
        if (FocalLength35mm is int f35)
            return f35;
        if (FocalLengthMm is not double f || f <= 0)
            return null;
        if (FocalPlaneXResolution is not double xr || FocalPlaneYResolution is not double yr || xr <= 0 || yr <= 0
            || PixelXDimension is not int px || PixelYDimension is not int py || px <= 0 || py <= 0)
            return null;
        double? unitMm = (FocalPlaneResolutionUnit ?? 2) switch
        {
            2 => 25.4,
            3 => 10.0,
            4 => 1.0,
            5 => 0.001,
            _ => null,
        };
        if (unitMm is not double u)
            return null;
        double sensorW = px / xr * u, sensorH = py / yr * u;
        return f * FullFrameDiagonalMm / Math.Sqrt(sensorW * sensorW + sensorH * sensorH);
    }
}

/// <summary>Reads EXIF (TIFF-structured) metadata and applies its orientation.</summary>
internal static class Exif
{
    private const ushort TagMake = 0x010F, TagModel = 0x0110, TagOrientation = 0x0112, TagExifIfd = 0x8769;
    private const ushort TagFocalLength = 0x920A, TagPixelX = 0xA002, TagPixelY = 0xA003;
    private const ushort TagFocalPlaneX = 0xA20E, TagFocalPlaneY = 0xA20F, TagFocalPlaneUnit = 0xA210, TagFocal35 = 0xA405;

    /// <summary>
    /// Parses a TIFF-structured EXIF block (a PNG eXIf chunk, or a JPEG APP1 body with or without its
    /// "Exif\0\0" prefix). Returns null when there is no TIFF header; offsets that point outside the block,
    /// loops and wrongly typed tags are skipped and listed in <see cref="ExifData.Problems"/>.
    /// </summary>
    public static ExifData? Parse(ReadOnlySpan<byte> tiff, string? fileName)
    {
        if (tiff.StartsWith("Exif\0\0"u8))
            tiff = tiff[6..];
        if (tiff.Length < 8)
            return null;
        bool little;
        if (tiff.StartsWith("II*\0"u8))
            little = true;
        else if (tiff.StartsWith("MM\0*"u8))
            little = false;
        else
            return null;

        var r = new Reader(tiff, little, fileName);
        var ifd0 = r.ReadIfd(r.U32(4), "IFD0");
        Dictionary<ushort, Entry> exif = ifd0.TryGetValue(TagExifIfd, out Entry e) && r.Integer(e) is long off
            ? r.ReadIfd(off, "Exif IFD")
            : [];

        int orientation = 1;
        if (ifd0.TryGetValue(TagOrientation, out Entry o) && r.Integer(o) is long ov)
        {
            if (ov is >= 1 and <= 8)
                orientation = (int)ov;
            else
                r.Problem($"orientation {ov} is not 1..8; treated as upright");
        }
        int? focal35 = exif.TryGetValue(TagFocal35, out Entry f35) && r.Integer(f35) is long f35v && f35v > 0 && f35v <= int.MaxValue ? (int)f35v : null;
        return new ExifData
        {
            Orientation = orientation,
            FocalLengthMm = Rational(r, exif, TagFocalLength),
            FocalLength35mm = focal35,
            FocalPlaneXResolution = Rational(r, exif, TagFocalPlaneX),
            FocalPlaneYResolution = Rational(r, exif, TagFocalPlaneY),
            FocalPlaneResolutionUnit = SmallInt(r, exif, TagFocalPlaneUnit),
            PixelXDimension = SmallInt(r, exif, TagPixelX),
            PixelYDimension = SmallInt(r, exif, TagPixelY),
            Make = ifd0.TryGetValue(TagMake, out Entry mk) ? r.Ascii(mk) : null,
            Model = ifd0.TryGetValue(TagModel, out Entry md) ? r.Ascii(md) : null,
            Problems = r.Problems,
        };
    }

    private static double? Rational(Reader r, Dictionary<ushort, Entry> ifd, ushort tag) =>
        ifd.TryGetValue(tag, out Entry e) ? r.Rational(e) : null;

    private static int? SmallInt(Reader r, Dictionary<ushort, Entry> ifd, ushort tag) =>
        ifd.TryGetValue(tag, out Entry e) && r.Integer(e) is long v && v is >= 0 and <= int.MaxValue ? (int)v : null;

    /// <summary>
    /// Turns a picture upright for its EXIF orientation, as Pillow's ImageOps.exif_transpose does:
    /// 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
    /// </summary>
    public static RgbImage Orient(RgbImage img, int orientation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(orientation, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(orientation, 8);
        if (orientation == 1)
            return img;
        int w = img.Width, h = img.Height;
        bool swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        byte[] src = img.Pixels;
        var dst = new byte[src.Length];
        for (int y = 0; y < oh; y++)
        {
            for (int x = 0; x < ow; x++)
            {
                // Source pixel that lands at (x, y) of the upright picture.
                (int sx, int sy) = orientation switch
                {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                int s = (sy * w + sx) * 3, d = (y * ow + x) * 3;
                dst[d] = src[s];
                dst[d + 1] = src[s + 1];
                dst[d + 2] = src[s + 2];
            }
        }
        return new RgbImage(ow, oh, dst);
    }

    /// <summary>Focal length in pixels from a 35 mm-equivalent one: f35 * image diagonal / 43.27 mm (DepthPro's rule).</summary>
    public static double FocalLengthPixels(double f35, int width, int height) =>
        f35 * Math.Sqrt((double)width * width + (double)height * height) / ExifData.FullFrameDiagonalMm;

    private readonly record struct Entry(ushort Tag, ushort Type, uint Count, uint ValueOffset, int EntryPosition);

    /// <summary>Bounds-checked reads over the TIFF block; every failed check records a problem instead of throwing.</summary>
    private sealed class Reader(ReadOnlySpan<byte> data, bool little, string? fileName)
    {
        private readonly byte[] _data = data.ToArray();
        private readonly HashSet<long> _visited = [];
        public List<string> Problems { get; } = [];

        public void Problem(string what) => Problems.Add(fileName is null ? $"EXIF: {what}" : $"{fileName}: EXIF: {what}");

        public uint U32(long at) => little ? BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan((int)at)) : BinaryPrimitives.ReadUInt32BigEndian(_data.AsSpan((int)at));
        private ushort U16(long at) => little ? BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan((int)at)) : BinaryPrimitives.ReadUInt16BigEndian(_data.AsSpan((int)at));

        /// <summary>Reads one IFD's entries (first of each tag wins); never follows an offset twice.</summary>
        public Dictionary<ushort, Entry> ReadIfd(long offset, string name)
        {
            var entries = new Dictionary<ushort, Entry>();
            if (!_visited.Add(offset))
            {
                Problem($"{name} at offset {offset} was already read (loop); ignored");
                return entries;
            }
            if (offset < 8 || offset > _data.Length - 2)
            {
                Problem($"{name} offset {offset} is outside the {_data.Length}-byte block; ignored");
                return entries;
            }
            int count = U16(offset);
            long fit = (_data.Length - offset - 2) / 12;
            if (count > fit)
            {
                Problem($"{name} claims {count} entries but only {fit} fit; reading those");
                count = (int)fit;
            }
            for (int i = 0; i < count; i++)
            {
                long at = offset + 2 + i * 12L;
                var e = new Entry(U16(at), U16(at + 2), U32(at + 4), U32(at + 8), (int)at);
                entries.TryAdd(e.Tag, e);
            }
            return entries;
        }

        private static int TypeSize(ushort type) => type switch
        {
            1 or 2 or 6 or 7 => 1,
            3 or 8 => 2,
            4 or 9 or 11 => 4,
            5 or 10 or 12 => 8,
            _ => 0,
        };

        /// <summary>Where the entry's first value of the given size starts, or -1 if it lies outside the block.</summary>
        private long ValueStart(Entry e, int bytes)
        {
            long total = (long)TypeSize(e.Type) * e.Count;
            if (e.Count == 0 || total < bytes)
                return -1;
            long start = total <= 4 ? e.EntryPosition + 8 : e.ValueOffset;
            return start + bytes <= _data.Length ? start : -1;
        }

        /// <summary>First value of a BYTE, SHORT or LONG tag.</summary>
        public long? Integer(Entry e)
        {
            int size = e.Type switch { 1 => 1, 3 => 2, 4 => 4, _ => 0 };
            long at = size == 0 ? -1 : ValueStart(e, size);
            if (at < 0)
            {
                Problem($"tag 0x{e.Tag:X4} has type {e.Type} and {e.Count} values, or lies outside the block; ignored");
                return null;
            }
            return size switch { 1 => _data[at], 2 => U16(at), _ => U32(at) };
        }

        /// <summary>First value of a RATIONAL or SRATIONAL tag (SHORT/LONG accepted as whole numbers); null if the denominator is 0.</summary>
        public double? Rational(Entry e)
        {
            if (e.Type is 1 or 3 or 4)
                return Integer(e);
            long at = e.Type is 5 or 10 ? ValueStart(e, 8) : -1;
            if (at < 0)
            {
                Problem($"tag 0x{e.Tag:X4} has type {e.Type} and {e.Count} values, or lies outside the block; ignored");
                return null;
            }
            uint num = U32(at), den = U32(at + 4);
            if (den == 0)
                return null;
            return e.Type == 5 ? (double)num / den : (double)(int)num / (int)den;
        }

        public string? Ascii(Entry e)
        {
            long at = e.Type is 2 or 7 ? ValueStart(e, (int)Math.Min(e.Count, int.MaxValue)) : -1;
            if (at < 0)
            {
                Problem($"tag 0x{e.Tag:X4} has type {e.Type} and {e.Count} bytes, or lies outside the block; ignored");
                return null;
            }
            ReadOnlySpan<byte> text = _data.AsSpan((int)at, (int)e.Count);
            int nul = text.IndexOf((byte)0);
            return Encoding.Latin1.GetString(nul < 0 ? text : text[..nul]).TrimEnd(' ');
        }
    }
}
