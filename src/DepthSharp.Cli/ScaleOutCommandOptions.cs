using System.CommandLine;
using System.Net;
using DepthSharp.Web;

namespace DepthSharp.Cli;

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

    public ScaleOutCommandOptions()
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
