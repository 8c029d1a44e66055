using System.Text.Json;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli;

/// <summary>Writes the chosen files for one picture's depth; each file appears whole or not at all.</summary>
internal sealed class OutputWriter(IReadOnlyCollection<string> formats, Colormap colormap)
{
    public static readonly string[] Formats = ["npy", "pfm", "png16", "gray8", "color", "side-by-side"];

    /// <summary>Writes &lt;stem&gt;.json and the requested formats; returns the paths written.</summary>
    public List<string> Write(string stem, RgbImage photo, DepthResult r, string modelType)
    {
        var written = new List<string>();
        void Add(string path) => written.Add(path);
        var set = formats.ToHashSet(StringComparer.Ordinal);
        // Metric depth is coloured by its inverse (near is bright) as Apple's tool shows it; relative models already give disparity.
        bool inverse = r.IsMetric;
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
            colour = DepthRender.Colorize(r.Depth, r.Width, r.Height, colormap, inverse);
        if (set.Contains("color")) { PngEncoder.WriteRgb8(stem + ".png", colour!); Add(stem + ".png"); }
        if (set.Contains("side-by-side")) { PngEncoder.WriteRgb8(stem + "_side.png", DepthRender.SideBySide(photo, colour!)); Add(stem + "_side.png"); }

        var json = new Dictionary<string, object?>
        {
            ["model_type"] = modelType,
            ["width"] = r.Width,
            ["height"] = r.Height,
            ["depth_kind"] = r.IsMetric ? "metric" : "relative",
            ["depth_units"] = r.IsMetric ? "metres" : "relative",
            ["field_of_view"] = r.FieldOfView,
            ["focal_length"] = r.FocalLength,
            ["focal_length_source"] = r.FocalLengthSource.ToString().ToLowerInvariant(),
            ["depth_min"] = r.Depth.Min(),
            ["depth_max"] = r.Depth.Max(),
        };
        // Which domain head (e.g. nyu or kitti) ZoeDepth used; other families have none.
        if (r.Domain is not null) json["domain"] = r.Domain;
        AtomicFile.WriteAllBytes(stem + ".json", JsonSerializer.SerializeToUtf8Bytes(json, CliJson.Default.DictionaryStringObject));
        Add(stem + ".json");
        return written;
    }
}
