using System.CommandLine;
using System.Net;
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
        var scale = ScaleOutCommandOptions.Create();
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

/// <summary>serve's options for running as one of several replicas behind a load balancer.</summary>
internal sealed class ScaleOutCommandOptions
{
    private readonly Option<string?> _redis = new("--redis")
    {
        Description = "Share results between replicas through Redis at HOST:PORT (or a StackExchange.Redis configuration string); " +
            "while it is unreachable the service answers by computing",
    };
    private readonly Option<int> _ttl = new("--result-ttl") { Description = "Seconds a shared result is kept in Redis", DefaultValueFactory = _ => 86400 };
    private readonly Option<string?> _replica = new("--replica-name") { Description = "This replica's name in X-Served-By and X-Computed-By (default: host name/process id)" };
    private readonly Option<bool> _forwarded = new("--forwarded-headers")
    {
        Description = "Honour X-Forwarded-For, -Proto, -Host and -Prefix from loopback and the --known-proxy / --known-network addresses",
    };
    private readonly Option<string[]> _proxies = new("--known-proxy") { Description = "A proxy address whose forwarded headers are believed (repeatable)", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string[]> _networks = new("--known-network") { Description = "A network (CIDR) whose forwarded headers are believed (repeatable)", AllowMultipleArgumentsPerToken = true };
    private readonly Option<int> _shutdown = new("--shutdown-timeout")
    {
        Description = "Seconds requests in flight may take to finish after SIGTERM before they are cut", DefaultValueFactory = _ => 30,
    };

    private ScaleOutCommandOptions()
    {
        _redis.Validators.Add(r =>
        {
            try { if (r.GetValue(_redis) is string v) ScaleOutOptions.RedisConfiguration(v); }
            catch (ArgumentException e) { r.AddError($"--redis: {e.Message}"); }
        });
        _ttl.Validators.Add(r => { if (r.GetValue(_ttl) < 1) r.AddError("--result-ttl must be at least 1 second"); });
        _shutdown.Validators.Add(r => { if (r.GetValue(_shutdown) < 0) r.AddError("--shutdown-timeout must not be negative"); });
        _proxies.Validators.Add(r =>
        {
            foreach (var p in r.GetValue(_proxies) ?? []) if (!IPAddress.TryParse(p, out _)) r.AddError($"--known-proxy '{p}' is not an IP address");
        });
        _networks.Validators.Add(r =>
        {
            foreach (var n in r.GetValue(_networks) ?? []) if (!IPNetwork.TryParse(n, out _)) r.AddError($"--known-network '{n}' is not a network such as 10.0.0.0/8");
        });
    }

    public static ScaleOutCommandOptions Create() => new();

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _redis, _ttl, _replica, _forwarded, _proxies, _networks, _shutdown }) command.Options.Add(option);
    }

    public ScaleOutOptions Read(ParseResult parse)
    {
        var defaults = new ScaleOutOptions();
        return new ScaleOutOptions
        {
            Redis = parse.GetValue(_redis),
            ResultTtl = TimeSpan.FromSeconds(parse.GetValue(_ttl)),
            ReplicaName = parse.GetValue(_replica) ?? defaults.ReplicaName,
            ForwardedHeaders = parse.GetValue(_forwarded),
            KnownProxies = [.. (parse.GetValue(_proxies) ?? []).Select(IPAddress.Parse)],
            KnownNetworks = [.. (parse.GetValue(_networks) ?? []).Select(n => IPNetwork.Parse(n))],
            ShutdownTimeout = TimeSpan.FromSeconds(parse.GetValue(_shutdown)),
        };
    }
}
