using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using StackExchange.Redis;

namespace DepthSharp.Web;

/// <summary>How one replica of the service behaves behind a load balancer (<c>depthsharp serve</c> always sets these).</summary>
public sealed record ScaleOutOptions
{
    /// <summary>
    /// Redis (<c>host:port</c>, or a StackExchange.Redis configuration string) where results are shared by the replicas;
    /// null keeps results in this process only.
    /// </summary>
    public string? Redis { get; init; }

    /// <summary>How long a shared result is kept in Redis.</summary>
    public TimeSpan ResultTtl { get; init; } = TimeSpan.FromDays(1);

    /// <summary>This replica's name, in every response's X-Served-By header and with the results it computes (X-Computed-By).</summary>
    public string ReplicaName { get; init; } = $"{Environment.MachineName}/{Environment.ProcessId}";

    /// <summary>
    /// Take the client's address, scheme, host and path prefix from the X-Forwarded-For, -Proto, -Host and -Prefix
    /// headers, from loopback and the <see cref="KnownProxies"/> and <see cref="KnownNetworks"/> only (anyone else could
    /// forge them).
    /// </summary>
    public bool ForwardedHeaders { get; init; }

    /// <summary>Proxies besides loopback whose forwarded headers are believed.</summary>
    public IReadOnlyList<IPAddress> KnownProxies { get; init; } = [];

    /// <summary>Networks besides loopback whose forwarded headers are believed (a cluster's pod network, for instance).</summary>
    public IReadOnlyList<System.Net.IPNetwork> KnownNetworks { get; init; } = [];

    /// <summary>On SIGTERM, how long requests in flight may take to finish after the listener closes; past it they are cut.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// StackExchange.Redis's settings for <paramref name="redis"/>: the service starts and keeps answering while Redis is
    /// down (no abort on a failed connect), and a command fails at once rather than queueing while disconnected, with
    /// 2-second connect and command timeouts unless the string sets its own.
    /// </summary>
    /// <exception cref="ArgumentException">The string is not a Redis configuration.</exception>
    public static ConfigurationOptions RedisConfiguration(string redis)
    {
        var configuration = ConfigurationOptions.Parse(redis);
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        if (!redis.Contains("connectTimeout=", StringComparison.OrdinalIgnoreCase)) configuration.ConnectTimeout = 2000;
        if (!redis.Contains("asyncTimeout=", StringComparison.OrdinalIgnoreCase)) configuration.AsyncTimeout = 2000;
        if (configuration.EndPoints.Count == 0) throw new ArgumentException($"'{redis}' names no Redis host (expected host:port)");
        return configuration;
    }
}

/// <summary>The service's parts for running as several replicas behind a load balancer.</summary>
internal static class ServeScaleOut
{
    public static void Configure(WebApplicationBuilder builder, ScaleOutOptions scale)
    {
        // Start, load, Redis outages and failures on stderr, one line each; the framework's own chatter only from warnings up.
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // The health check service would log every failing probe (each second from a balancer); the model's load and
        // Redis's outages are logged once each by their own classes.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = scale.ShutdownTimeout);
        if (scale.ForwardedHeaders)
            builder.Services.Configure<ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost
                    | ForwardedHeaders.XForwardedPrefix;
                foreach (var proxy in scale.KnownProxies) o.KnownProxies.Add(proxy);
                foreach (var network in scale.KnownNetworks) o.KnownIPNetworks.Add(network);
            });
        if (scale.Redis is not null)
        {
            builder.Services.AddSingleton(scale);
            builder.Services.AddSingleton<SharedResults>();
            // Degraded, not unhealthy: without Redis the replica still answers, so the balancer keeps it.
            builder.Services.AddHealthChecks().AddCheck<SharedResultsHealthCheck>(SharedResultsHealthCheck.Name, HealthStatus.Degraded, ["cache"]);
        }
    }

    public static void Use(WebApplication app, ScaleOutOptions scale, HealthCheckOptions health)
    {
        if (scale.ForwardedHeaders) app.UseForwardedHeaders();
        app.Use((http, next) =>
        {
            http.Response.Headers["X-Served-By"] = scale.ReplicaName;
            return next(http);
        });
        // Liveness answers while the process serves HTTP, whatever the model; readiness is the model's check alone.
        app.MapHealthChecks("/api/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = health.ResponseWriter });
        app.MapHealthChecks("/api/health/ready", new HealthCheckOptions { Predicate = r => r.Tags.Contains("ready"), ResponseWriter = health.ResponseWriter });
        // Connect to Redis as the server starts, so the first request does not wait for it and an outage is logged at once.
        if (scale.Redis is not null) app.Services.GetRequiredService<SharedResults>();
    }
}
