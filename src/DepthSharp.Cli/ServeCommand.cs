using System.CommandLine;
using DepthSharp.Pipeline;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Web;
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
        queue.Validators.Add(r => { if (r.GetValue(queue) < 0) r.AddError("--max-queue must not be negative"); });
        var command = new Command("serve", "Serve the HTTP API (/api/health, /api/model, POST /api/depth) for one model") { model, urls, threads, concurrent, queue, int8, processor };
        command.SetAction((parse, cancellationToken) => CliErrors.Run(async () =>
        {
            if (parse.GetValue(threads) is int t) KernelOptions.Threads = t;
            string dir = parse.GetValue(model)!;
            var estimator = DepthEstimator.Load(await HubCommands.ResolveAsync(dir, cancellationToken),
                new DepthEstimatorOptions { Int8Weights = parse.GetValue(int8), ImageProcessor = parse.GetValue(processor) });
            var options = new ServeOptions { MaxConcurrent = parse.GetValue(concurrent), MaxQueue = parse.GetValue(queue) };
            await using var app = DepthServer.Build(estimator, Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)), options, parse.GetValue(urls)!);
            await app.StartAsync(cancellationToken);
            await Console.Error.WriteLineAsync($"serving {estimator.ModelType} model {dir} on {string.Join(", ", app.Urls)}");
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        }));
        return command;
    }
}
