using System.Text.Json;
using DepthSharp.Imaging;

namespace DepthSharp.Tests.Cli;

/// <summary>
/// `estimate FOLDER --sequence` on frames made from one photo shifted a few pixels per frame: aligned frames, one
/// colour range, less flicker than the frames estimated alone. With DEPTHSHARP_FLICKER_REPORT set to a folder, the
/// measurement (flicker.json) and a before/after strip (sequence-strip.png) are written there for the README.
/// </summary>
public sealed class SequenceCommandTests : IDisposable
{
    private const int Frames = 8, Shift = 3, FrameWidth = 240, FrameHeight = 160;
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-sequence-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Frame k is the photo's window starting at column k·Shift: the camera pans right.</summary>
    private string MakeFrames()
    {
        var photo = ImageFile.Load(Fixtures.Path("images", "baseline_420_q75.jpg")).Image;
        string folder = Path.Combine(_dir, "frames");
        Directory.CreateDirectory(folder);
        for (int k = 0; k < Frames; k++)
        {
            var px = new byte[FrameWidth * FrameHeight * 3];
            for (int y = 0; y < FrameHeight; y++)
                Array.Copy(photo.Pixels, ((y + 20) * photo.Width + k * Shift) * 3, px, y * FrameWidth * 3, FrameWidth * 3);
            PngEncoder.WriteRgb8(Path.Combine(folder, $"frame{k:D3}.png"), new RgbImage(FrameWidth, FrameHeight, px));
        }
        return folder;
    }

    private string Run(string model, string frames, bool sequence)
    {
        string output = Path.Combine(_dir, sequence ? "seq-" + model : "plain-" + model);
        string[] args = ["estimate", frames, "--model", Fixtures.Path("models", model), "--output", output, "--format", "color", "npy"];
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(3), sequence ? [.. args, "--sequence"] : args);
        Assert.True(code == 0, stderr);
        return output;
    }

    private static List<RgbImage> Pictures(string output) =>
        Enumerable.Range(0, Frames).Select(k => PngDecoder.DecodeFile(Path.Combine(output, $"frame{k:D3}.png")).ToRgb8()).ToList();

    /// <summary>
    /// Mean absolute change (0–255, over channels) between consecutive rendered frames where they show the same part of
    /// the scene: frame k at column x + Shift against frame k + 1 at column x.
    /// </summary>
    private static double MeanFrameChange(List<RgbImage> frames)
    {
        double sum = 0;
        long count = 0;
        for (int k = 0; k + 1 < frames.Count; k++)
            for (int y = 0; y < FrameHeight; y++)
                for (int x = 0; x + Shift < FrameWidth; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        sum += Math.Abs(frames[k].Pixels[(y * FrameWidth + x + Shift) * 3 + c] - frames[k + 1].Pixels[(y * FrameWidth + x) * 3 + c]);
                        count++;
                    }
        return sum / count;
    }

    private static JsonElement Json(string output, int k) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, $"frame{k:D3}.json"))).RootElement;

    // The tiny Depth Anything and DPT fixtures give nearly the same map on every frame (their range is set by border
    // artefacts), so alignment can only keep them as steady; DepthPro without its FOV head swings in scale between frames.
    [Theory]
    [InlineData("depth_anything_tiny_relative", false)]
    [InlineData("dpt_tiny", false)]
    [InlineData("depth_pro_tiny_nofov_f16", true)]
    public void RelativeFramesAreAlignedColouredOverOneRangeAndFlickerLess(string model, bool swings)
    {
        string frames = MakeFrames();
        string plain = Run(model, frames, sequence: false);
        string sequence = Run(model, frames, sequence: true);

        var first = Json(sequence, 0).GetProperty("sequence");
        Assert.False(first.GetProperty("aligned").GetBoolean());
        var range = first.GetProperty("colour_range").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        for (int k = 1; k < Frames; k++)
        {
            var s = Json(sequence, k).GetProperty("sequence");
            Assert.True(s.GetProperty("aligned").GetBoolean());
            Assert.Equal(k, s.GetProperty("frame").GetInt32());
            Assert.Equal(range, s.GetProperty("colour_range").EnumerateArray().Select(v => v.GetSingle()).ToArray());
        }

        double before = MeanFrameChange(Pictures(plain)), after = MeanFrameChange(Pictures(sequence));
        Assert.True(swings ? after < 0.97 * before : after <= before, $"mean frame-to-frame change {after:F3} with --sequence against {before:F3} without");

        if (Environment.GetEnvironmentVariable("DEPTHSHARP_FLICKER_REPORT") is string report)
        {
            Directory.CreateDirectory(report);
            File.WriteAllText(Path.Combine(report, $"flicker-{model}.json"),
                $"{{\"model\": \"{model}\", \"frames\": {Frames}, \"shift_px\": {Shift}, \"without_sequence\": {before:F3}, \"with_sequence\": {after:F3}}}\n");
            PngEncoder.WriteRgb8(Path.Combine(report, $"sequence-strip-{model}.png"), Strip(Pictures(plain), Pictures(sequence)));
        }
    }

    [Fact]
    public void MetricFramesAreNotRefittedButShareTheRange()
    {
        string frames = MakeFrames();
        string sequence = Run("zoedepth_tiny_nk", frames, sequence: true);
        var range = Json(sequence, 0).GetProperty("sequence").GetProperty("colour_range").GetRawText();
        for (int k = 0; k < Frames; k++)
        {
            var s = Json(sequence, k).GetProperty("sequence");
            Assert.False(s.GetProperty("aligned").GetBoolean());
            Assert.Equal(range, s.GetProperty("colour_range").GetRawText());
        }
    }

    [Fact]
    public void FramesOfDifferentSizesAreRefused()
    {
        string frames = MakeFrames();
        File.Copy(Fixtures.Path("models", "depth_anything_tiny_relative", "image0.png"), Path.Combine(frames, "frame999.png"));
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(3), "estimate", frames, "--model", Fixtures.Path("models", "depth_anything_tiny_relative"),
            "--output", Path.Combine(_dir, "out"), "--sequence");
        Assert.Equal(1, code);
        Assert.Contains("frames of a sequence must have one size: 150x100 follows 240x160", stderr);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")) && Directory.GetFiles(Path.Combine(_dir, "out")).Length > 0);
    }

    [Fact]
    public void ShardOrPromptDepthIsRefusedBeforeTheModelRuns()
    {
        // A shard would align a hash-picked subset of the frames; prompts would be read and then ignored.
        string frames = MakeFrames(), output = Path.Combine(_dir, "out");
        var (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(3), "estimate", frames, "--model", Fixtures.Path("models", "depth_anything_tiny_relative"),
            "--output", output, "--sequence", "--shard", "0/2");
        Assert.True(code == 1, stderr);
        Assert.Contains("error: --sequence cannot run as shard 0 of 2", stderr);

        string prompted = Fixtures.Path("models", "prompt_depth_anything_tiny");
        string[] prompts = Enumerable.Repeat(Path.Combine(prompted, "prompt_depth0.npy"), Frames).ToArray();
        (code, _, stderr) = CliProcess.Run(TimeSpan.FromMinutes(3), ["estimate", frames, "--model", prompted, "--output", output, "--sequence", "--prompt-depth", .. prompts]);
        Assert.True(code == 1, stderr);
        Assert.Contains("error: --sequence does not take --prompt-depth", stderr);
        Assert.False(Directory.Exists(output) && Directory.GetFiles(output).Length > 0);
    }

    /// <summary>Every other frame: the frames alone on top, the sequence below.</summary>
    private static RgbImage Strip(List<RgbImage> plain, List<RgbImage> sequence)
    {
        int[] shown = [0, 2, 4, 6];
        int w = shown.Length * FrameWidth, h = 2 * FrameHeight;
        var px = new byte[w * h * 3];
        for (int row = 0; row < 2; row++)
            for (int i = 0; i < shown.Length; i++)
            {
                var frame = (row == 0 ? plain : sequence)[shown[i]];
                for (int y = 0; y < FrameHeight; y++)
                    Array.Copy(frame.Pixels, y * FrameWidth * 3, px, ((row * FrameHeight + y) * w + i * FrameWidth) * 3, FrameWidth * 3);
            }
        return new RgbImage(w, h, px);
    }
}
