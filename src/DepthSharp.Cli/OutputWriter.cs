using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli;

/// <summary>Writes the chosen files for one picture's depth; each file appears whole or not at all.</summary>
internal sealed class OutputWriter(IReadOnlyCollection<string> formats, Colormap colormap, double? plyScale = null)
{
    public static readonly string[] Formats = ["npy", "pfm", "png16", "gray8", "color", "side-by-side", "ply"];

    /// <summary>
    /// Writes &lt;stem&gt;.json and the requested formats; returns the paths written. <paramref name="source"/>, when given,
    /// is stored as the JSON's "source" (what the outputs were made from: see Batch.Recipe); <paramref name="extraJson"/>
    /// adds fields to the JSON (calibration, regions, sequence); <paramref name="colourRange"/> fixes the colours' range (a sequence's).
    /// </summary>
    public List<string> Write(string stem, RgbImage photo, DepthResult r, string modelType, TextWriter log,
        IReadOnlyDictionary<string, object?>? source = null, IReadOnlyDictionary<string, object?>? extraJson = null, ColourRange? colourRange = null)
    {
        var written = new List<string>();
        void Add(string path) => written.Add(path);
        var set = formats.ToHashSet(StringComparer.Ordinal);
        if (set.Contains("npy")) { Npy.Write(stem + ".npy", r.Depth, [r.Height, r.Width]); Add(stem + ".npy"); }
        if (set.Contains("pfm")) { DepthRender.WritePfm(stem + ".pfm", r.Depth, r.Width, r.Height); Add(stem + ".pfm"); }
        if (set.Contains("png16")) { PngEncoder.WriteGray16(stem + "_16bit.png", DepthExport.Png16(r), r.Width, r.Height); Add(stem + "_16bit.png"); }
        if (set.Contains("gray8"))
        {
            PngEncoder.WriteGray8(stem + "_gray.png", DepthRender.PipelineGray8(r.Depth), r.Width, r.Height);
            Add(stem + "_gray.png");
        }
        // Near is warm, drawn as the library's policy says for the family and kind (the web page draws it the same way).
        RgbImage? colour = null;
        if (set.Contains("color") || set.Contains("side-by-side"))
            colour = DepthExport.Colorize(r, colormap, colourRange);
        if (set.Contains("color")) { PngEncoder.WriteRgb8(stem + ".png", colour!); Add(stem + ".png"); }
        if (set.Contains("side-by-side")) { PngEncoder.WriteRgb8(stem + "_side.png", DepthRender.SideBySide(photo, colour!)); Add(stem + "_side.png"); }
        if (set.Contains("ply"))
        {
            switch (DepthExport.PointCloudBlocker(r, plyScale))
            {
                case PointCloudBlocker.None:
                    var points = DepthExport.PointCloud(r, plyScale);
                    PointCloud.WritePly(stem + ".ply", photo, points.Metres, points.FocalLength);
                    Add(stem + ".ply");
                    if (points.FocalLengthAssumed) log.WriteLine($"{stem}.ply: no focal length known, a 60° horizontal field of view assumed (--focal-length sets it)");
                    break;
                case PointCloudBlocker.NoFocalLength:
                    log.WriteLine($"{stem}.ply skipped: {DepthExport.NoIntrinsicsReason} (--focal-length sets one), so the points cannot be placed");
                    break;
                default:
                    log.WriteLine($"{stem}.ply skipped: {modelType} gives relative depth (--ply-scale gives it a scale), so the points would have no scale");
                    break;
            }
        }

        var json = new Dictionary<string, object?>
        {
            ["model_type"] = modelType,
            ["width"] = r.Width,
            ["height"] = r.Height,
            ["depth_kind"] = DepthExport.KindLabel(r.Kind),
            ["depth_units"] = DepthExport.UnitsLabel(r.Kind),
            ["depth_is_inverse"] = r.Kind == DepthKind.RelativeInverse,
            ["field_of_view"] = r.FieldOfView,
            ["focal_length"] = r.FocalLength,
            ["focal_length_source"] = r.FocalLengthSource.ToString().ToLowerInvariant(),
            ["depth_min"] = r.Depth.Min(),
            ["depth_max"] = r.Depth.Max(),
            ["outputs"] = written.Select(Path.GetFileName).ToArray(),
        };
        // The camera the point cloud uses, or why there is none.
        var camera = DepthExport.Intrinsics(r);
        json["fx"] = camera?.Fx;
        json["fy"] = camera?.Fy;
        json["cx"] = camera?.Cx;
        json["cy"] = camera?.Cy;
        if (camera is null) json["intrinsics_missing"] = DepthExport.NoIntrinsicsReason;
        // Which domain head (e.g. nyu or kitti) ZoeDepth used; other families have none.
        if (r.Domain is not null) json["domain"] = r.Domain;
        foreach (var (key, value) in extraJson ?? new Dictionary<string, object?>()) json[key] = value;
        if (source is not null) json["source"] = source;
        AtomicFile.WriteAllBytes(stem + ".json", JsonSerializer.SerializeToUtf8Bytes(json, CliJson.Default.DictionaryStringObject));
        Add(stem + ".json");
        return written;
    }
}
