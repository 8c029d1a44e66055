using DepthSharp.Extensions.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

// In the container's own namespace, as Microsoft's AddXxx extensions are, so that they show up without a using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers DepthSharp's shared depth pipeline with a service collection.</summary>
public static class DepthEstimationServiceCollectionExtensions
{
    /// <summary>
    /// Registers one shared <see cref="DepthPipelineProvider"/> configured by <paramref name="configure"/>, a hosted service
    /// that starts loading the model when the host starts (unless <see cref="DepthEstimationOptions.LoadOnStart"/> is false),
    /// and the <see cref="DepthModelHealthCheck"/>. Calling it again adds to the same settings; nothing is registered twice.
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the model and its options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <example>
    /// A worker service that needs depth:
    /// <code>
    /// var builder = Host.CreateApplicationBuilder(args);
    /// builder.Services.AddDepthEstimation(o =>
    /// {
    ///     o.Model = "depth-anything/Depth-Anything-V2-Small-hf";   // or a local folder
    ///     o.Threads = 4;
    /// });
    /// builder.Services.AddHostedService&lt;Worker&gt;();           // takes DepthPipelineProvider and awaits GetPipelineAsync
    /// builder.Build().Run();
    /// </code>
    /// </example>
    public static IServiceCollection AddDepthEstimation(this IServiceCollection services, Action<DepthEstimationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<DepthEstimationOptions>().Configure(configure);
        return services.AddDepthEstimationServices();
    }

    /// <summary>
    /// As <see cref="AddDepthEstimation(IServiceCollection, Action{DepthEstimationOptions})"/>, with the settings bound from a
    /// configuration section whose keys are <see cref="DepthEstimationOptions"/>' property names
    /// (<c>builder.Configuration.GetSection("DepthEstimation")</c>: <c>Model</c>, <c>Threads</c>, <c>ImageProcessor</c>,
    /// <c>Int8Weights</c>, <c>UseFovModel</c>, ...).
    /// </summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configuration">The section holding the settings.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <example>
    /// An ASP.NET Core app, with <c>"DepthEstimation": { "Model": "apple/DepthPro-hf" }</c> in appsettings.json:
    /// <code>
    /// var builder = WebApplication.CreateBuilder(args);
    /// builder.Services.AddDepthEstimation(builder.Configuration.GetSection("DepthEstimation"));
    /// var app = builder.Build();
    /// app.MapHealthChecks("/health");   // 503 until the model is loaded
    /// app.MapPost("/depth", async (HttpRequest request, DepthPipelineProvider depth, CancellationToken cancel) =>
    /// {
    ///     var pipeline = await depth.GetPipelineAsync(cancel);
    ///     var estimate = await pipeline.EstimateAsync(request.Body, "upload", cancellationToken: cancel);
    ///     return new { estimate.Depth.Width, estimate.Depth.Height, Kind = estimate.Depth.Kind.ToString() };
    /// });
    /// app.Run();
    /// </code>
    /// </example>
    public static IServiceCollection AddDepthEstimation(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<DepthEstimationOptions>().Bind(configuration);
        return services.AddDepthEstimationServices();
    }

    private static IServiceCollection AddDepthEstimationServices(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(DepthPipelineProvider))) return services;
        // Settings that cannot be used stop the host's start, before any model is looked for.
        services.AddSingleton<IValidateOptions<DepthEstimationOptions>, DepthEstimationOptionsValidator>();
        services.AddOptions<DepthEstimationOptions>().ValidateOnStart();
        services.AddSingleton<DepthPipelineProvider>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, DepthPipelineWarmup>());
        services.AddHealthChecks().AddCheck<DepthModelHealthCheck>(DepthModelHealthCheck.Name, tags: ["ready"]);
        return services;
    }
}

