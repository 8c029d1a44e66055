using System.CommandLine;
using DepthSharp.Imaging;

namespace DepthSharp.Cli;

internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "PNG or JPEG picture" };
        var output = new Argument<string>("output") { Description = "PNG file to write" };
        var noOrient = new Option<bool>("--no-exif-orientation") { Description = "Keep the picture as stored instead of turning it upright" };
        var command = new Command("convert", "Write a picture as the tool reads it: upright 8-bit RGB PNG") { input, output, noOrient };
        command.SetAction((parse, _) => CliErrors.Run(() =>
        {
            var image = ImageFile.Load(parse.GetValue(input)!, new ImageDecodeOptions { ApplyExifOrientation = !parse.GetValue(noOrient) });
            PngEncoder.WriteRgb8(parse.GetValue(output)!, image.Image);
            Console.Error.WriteLine($"{parse.GetValue(output)}: {image.Image.Width}x{image.Image.Height}" +
                (image.Exif is { } exif ? $", EXIF orientation {exif.Orientation}" : ""));
            return Task.FromResult(0);
        }));
        return command;
    }
}
