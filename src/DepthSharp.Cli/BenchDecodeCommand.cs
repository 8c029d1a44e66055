using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DepthSharp.Imaging;

namespace DepthSharp.Cli;

internal static class BenchDecodeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "PNG or JPEG picture" };
        var runs = new Option<int>("--runs") { Description = "Timed decodes after one warm-up", DefaultValueFactory = _ => 20 };
        runs.Validators.Add(r => { if (r.GetValue(runs) < 1) r.AddError("--runs must be at least 1"); });
        var command = new Command("bench-decode", "Time decoding a picture in-process; prints one JSON line") { input, runs };
        command.SetAction((parse, _) => CliErrors.Run(() =>
        {
            string path = parse.GetValue(input)!;
            byte[] bytes = File.ReadAllBytes(path);
            var options = new ImageDecodeOptions { ApplyExifOrientation = false };
            var first = ImageFile.Decode(bytes, path, options).Image;
            var times = new List<double>();
            for (int r = 0; r < parse.GetValue(runs); r++)
            {
                var clock = Stopwatch.StartNew();
                ImageFile.Decode(bytes, path, options);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            var line = new Dictionary<string, object?>
            {
                ["file"] = Path.GetFileName(path),
                ["width"] = first.Width,
                ["height"] = first.Height,
                ["median_ms"] = Math.Round(times[times.Count / 2], 2),
                ["best_ms"] = Math.Round(times[0], 2),
                ["runs"] = times.Count,
            };
            Console.WriteLine(JsonSerializer.Serialize(line, CliJson.Default.DictionaryStringObject).ReplaceLineEndings(" "));
            return Task.FromResult(0);
        }));
        return command;
    }
}
