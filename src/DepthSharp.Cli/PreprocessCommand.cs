using System.CommandLine;
using DepthSharp.Imaging;
using DepthSharp.IO;
using DepthSharp.Pipeline;

namespace DepthSharp.Cli;

internal static class PreprocessCommand
{
    public static Command Create()
    {
        var image = new Argument<string>("image") { Description = "PNG or JPEG picture" };
        var model = new Option<string>("--model") { Description = "Folder with a preprocessor_config.json", Required = true };
        var output = new Option<string>("--output") { Description = "Output .npy: float32 [3, H, W] pixel_values", Required = true };
        var kind = ProcessorOption.Create();
        var command = new Command("preprocess", "Write the pixel_values the model sees for a picture") { image, model, output, kind };
        command.SetAction((parse, _) => CliErrors.Run(() =>
        {
            var processor = ModelFamilies.LoadProcessor(Path.Combine(parse.GetValue(model)!, "preprocessor_config.json"), parse.GetValue(kind));
            var pixels = processor.Preprocess([ImageFile.Load(parse.GetValue(image)!).Image]);
            Npy.Write(parse.GetValue(output)!, pixels.Data, pixels.Shape.AsSpan(1));
            return Task.FromResult(0);
        }));
        return command;
    }
}
