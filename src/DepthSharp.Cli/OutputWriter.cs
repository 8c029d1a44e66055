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
    /// Near is warm. Inverse depth (relative models) is shown as it is; DepthPro's and ZoeDepth's metric depth over its
    /// inverse, as Apple's tool does; Depth Anything's metric depth linearly, as its own tools do: its bicubic resize can
    /// reach zero, where an inverse blows up.
    /// </summary>
    private RgbImage Picture(DepthResult r, string modelType)
    {
        if (r.IsInverseDepth) return DepthRender.Colorize(r.Depth, r.Width, r.Height, colormap, inverse: false);
        if (modelType is "depth_pro" or "zoedepth") return DepthRender.Colorize(r.Depth, r.Width, r.Height, colormap, inverse: true);
        return DepthRender.Colorize(r.Depth.Select(d => -d).ToArray(), r.Width, r.Height, colormap, inverse: false);
    }

    /// <summary>Writes &lt;stem&gt;.json and the requested formats; returns the paths written.</summary>
    public List<string> Write(string stem, RgbImage photo, DepthResult r, string modelType, TextWriter log)
    {
        var written = new List<string>();
        void Add(string path) => written.Add(path);
        var set = formats.ToHashSet(StringComparer.Ordinal);
        if (set.Contains("npy")) { Npy.Write(stem + ".npy", r.Depth, [r.Height, r.Width]); Add(stem + ".npy"); }
        if (set.Contains("pfm")) { DepthRender.WritePfm(stem + ".pfm", r.Depth, r.Width, r.Height); Add(stem + ".pfm"); }
        if (set.Contains("png16")) { DepthRender.WriteDepthPng16(stem + "_16bit.png", r.Depth, r.Width, r.Height, r.IsMetric); Add(stem + "_16bit.png"); }
        if (set.Contains("gray8"))
        {
            PngEncoder.WriteGray8(stem + "_gray.png", DepthRender.PipelineGray8(r.Depth), r.Width, r.Height);
            Add(stem + "_gray.png");
        }
        RgbImage? colour = null;
        if (set.Contains("color") || set.Contains("side-by-side"))
            colour = Picture(r, modelType);
        if (set.Contains("color")) { PngEncoder.WriteRgb8(stem + ".png", colour!); Add(stem + ".png"); }
        if (set.Contains("side-by-side")) { PngEncoder.WriteRgb8(stem + "_side.png", DepthRender.SideBySide(photo, colour!)); Add(stem + "_side.png"); }
        if (set.Contains("ply"))
        {
            if (r.IsMetric && r.FocalLength is double focal && !r.IsInverseDepth)
            {
                PointCloud.WritePly(stem + ".ply", photo, r.Depth, focal);
                Add(stem + ".ply");
            }
            else if (!r.IsMetric && plyScale is double scale)
            {
                // Relative depth given a scale by the user; without a focal length a 60° horizontal field of view is assumed.
                double f = r.FocalLength ?? 0.5 * r.Width / Math.Tan(Math.PI / 6);
                var metres = r.Depth.Select(v => r.IsInverseDepth ? (v > 0 ? (float)(scale / v) : float.NaN) : (float)(scale * v)).ToArray();
                PointCloud.WritePly(stem + ".ply", photo, metres, f);
                Add(stem + ".ply");
                if (r.FocalLength is null) log.WriteLine($"{stem}.ply: no focal length known, a 60° horizontal field of view assumed (--focal-length sets it)");
            }
            else
                log.WriteLine($"{stem}.ply skipped: {modelType} gives {(r.IsMetric ? "no focal length (--focal-length sets one)" : "relative depth (--ply-scale gives it a scale)")}, so the points would have no scale");
        }

        var json = new Dictionary<string, object?>
        {
            ["model_type"] = modelType,
            ["width"] = r.Width,
            ["height"] = r.Height,
            ["depth_kind"] = r.IsMetric ? "metric" : "relative",
            ["depth_units"] = r.IsMetric ? "metres" : "relative",
            ["depth_is_inverse"] = r.IsInverseDepth,
            ["field_of_view"] = r.FieldOfView,
            ["focal_length"] = r.FocalLength,
            ["focal_length_source"] = r.FocalLengthSource.ToString().ToLowerInvariant(),
            ["depth_min"] = r.Depth.Min(),
            ["depth_max"] = r.Depth.Max(),
            ["outputs"] = written.Select(Path.GetFileName).ToArray(),
        };
        // Which domain head (e.g. nyu or kitti) ZoeDepth used; other families have none.
        if (r.Domain is not null) json["domain"] = r.Domain;
        AtomicFile.WriteAllBytes(stem + ".json", JsonSerializer.SerializeToUtf8Bytes(json, CliJson.Default.DictionaryStringObject));
        Add(stem + ".json");
        return written;
    }
}
