using System.CommandLine;
using DepthSharp.Extensions.Hosting;
using DepthSharp.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DepthSharp.Cli;

internal static class ServeCommand
{
    public static Command Create()
    {
        var model = HubCommands.ModelOption();
        var urls = new Option<string>("--urls") { Description = "Address to listen on", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var threads = new Option<int?>("--threads") { Description = "Worker threads (default: all cores)" };
        var concurrent = new Option<int>("--max-concurrent") { Description = "Forward passes at once", DefaultValueFactory = _ => 1 };
        var queue = new Option<int>("--max-queue") { Description = "Requests that may wait; more get 503", DefaultValueFactory = _ => 8 };
        var int8 = new Option<bool>("--int8-weights") { Description = "Quantise the linear layers' weights to 8 bits as they load: less memory, slightly different depth" };
        var processor = ProcessorOption.Create();
        concurrent.Validators.Add(r => { if (r.GetValue(concurrent) < 1) r.AddError("--max-concurrent must be at least 1"); });
        threads.Validators.Add(r => { if (r.GetValue(threads) is < 1) r.AddError("--threads must be at least 1"); });
        queue.Validators.Add(r => { if (r.GetValue(queue) < 0) r.AddError("--max-queue must not be negative"); });
        var command = new Command("serve", "Serve the HTTP API (/api/health, /api/model, POST /api/depth) for one model") { model, urls, threads, concurrent, queue, int8, processor };
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            string dir = parse.GetValue(model)!;
            // A Hub id is fetched here, with the download's progress on stderr; the server then loads the folder.
            string folder = await HubCommands.ResolveAsync(dir, cancellationToken);
            var options = new ServeOptions { MaxConcurrent = parse.GetValue(concurrent), MaxQueue = parse.GetValue(queue) };
            await using var app = DepthServer.Build(o =>
            {
                o.Model = folder;
                o.Threads = parse.GetValue(threads);
                o.Int8Weights = parse.GetValue(int8);
                o.ImageProcessor = parse.GetValue(processor);
            }, Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), options, parse.GetValue(urls)!);
            await app.StartAsync(cancellationToken);
            // The model loads as the server starts (/api/health answers 503 meanwhile); one that cannot be loaded ends the
            // command with its error and exit code 1.
            var pipeline = await app.Services.GetRequiredService<DepthPipelineProvider>().GetPipelineAsync(cancellationToken);
            await Console.Error.WriteLineAsync($"serving {pipeline.ModelType} model {dir} on {string.Join(", ", app.Urls)}");
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        }));
        return command;
    }
}
