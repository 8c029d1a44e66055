using System.CommandLine;
using DepthSharp.Extensions.Hosting;
using DepthSharp.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace DepthSharp.Cli;

internal static class ServeCommand
{
    public const string Name = "serve";

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
        var scale = new ScaleOutCommandOptions();
        var command = new Command(Name, "Serve the HTTP API (/api/health, /api/model, POST /api/depth) for one model") { model, urls, threads, concurrent, queue, int8, processor };
        scale.AddTo(command);
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            string dir = parse.GetValue(model)!;
            // A Hub id is fetched here, with the download's progress on stderr; the server then loads the folder.
            string folder = await HubCommands.ResolveAsync(dir, cancellationToken);
            var options = new ServeOptions { MaxConcurrent = parse.GetValue(concurrent), MaxQueue = parse.GetValue(queue), ScaleOut = scale.Read(parse) };
            await using var app = DepthServer.Build(o =>
            {
                o.Model = folder;
                o.Threads = parse.GetValue(threads);
                o.Int8Weights = parse.GetValue(int8);
                o.ImageProcessor = parse.GetValue(processor);
            }, Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), options, parse.GetValue(urls)!);
            await app.StartAsync(cancellationToken);
            // The model loads as the server starts (/api/health answers 503 meanwhile); one that cannot be loaded ends the
            // command with its error and exit code 1. SIGTERM meanwhile stops the wait and the server.
            try
            {
                var pipeline = await app.Services.GetRequiredService<DepthPipelineProvider>().GetPipelineAsync(app.Lifetime.ApplicationStopping);
                await Console.Error.WriteLineAsync($"serving {pipeline.ModelType} model {dir} on {string.Join(", ", app.Urls)}" +
                    (options.ScaleOut!.Redis is string redis ? $" as {options.ScaleOut.ReplicaName}, results shared through Redis at {redis}" : ""));
            }
            catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested) { }
            // SIGTERM (the host's own handler: System.CommandLine leaves it to the host for serve, see Program.cs) closes the
            // listener and lets requests in flight finish, up to --shutdown-timeout.
            await app.WaitForShutdownAsync(cancellationToken);
            await Console.Error.WriteLineAsync("stopped");
            return 0;
        }));
        return command;
    }
}
