using DepthSharp.Extensions.Hosting;
using DepthSharp.Pipeline;
using DepthSharp.Processing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DepthSharp.Tests.Hosting;

/// <summary>AddDepthEstimation: options from configuration, one shared pipeline, the health check through the model's life.</summary>
public sealed class DepthEstimationHostingTests
{
    private static readonly string TinyModel = Fixtures.Path("models", "depth_pro_tiny");

    private static ServiceProvider Services(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddDepthEstimation(configuration.GetSection("DepthEstimation")).BuildServiceProvider();
    }

    private static Task<HealthReport> Health(IServiceProvider services) => services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    [Fact]
    public void OptionsAreBoundFromConfiguration()
    {
        using var services = Services(new Dictionary<string, string?>
        {
            ["DepthEstimation:Model"] = "Intel/dpt-large@main",
            ["DepthEstimation:Threads"] = "3",
            ["DepthEstimation:ImageProcessor"] = "Fast",
            ["DepthEstimation:Int8Weights"] = "true",
            ["DepthEstimation:UseFovModel"] = "false",
            ["DepthEstimation:PreferExifFocalLength"] = "false",
            ["DepthEstimation:FlipAverage"] = "true",
            ["DepthEstimation:FocalLengthPixels"] = "1234.5",
            ["DepthEstimation:ApplyExifOrientation"] = "false",
            ["DepthEstimation:MaxPixels"] = "1000000",
            ["DepthEstimation:LoadOnStart"] = "false",
        });
        var o = services.GetRequiredService<IOptions<DepthEstimationOptions>>().Value;
        Assert.Equal("Intel/dpt-large@main", o.Model);
        Assert.Equal(3, o.Threads);
        Assert.Equal(ImageProcessorKind.Fast, o.ImageProcessor);
        Assert.True(o.Int8Weights);
        Assert.False(o.UseFovModel);
        Assert.False(o.PreferExifFocalLength);
        Assert.True(o.FlipAverage);
        Assert.Equal(1234.5, o.FocalLengthPixels);
        Assert.False(o.ApplyExifOrientation);
        Assert.Equal(1_000_000, o.MaxPixels);
        Assert.False(o.LoadOnStart);

        // ...and reach the library's options as they are.
        var p = o.ToPipelineOptions();
        Assert.Equal(3, p.Threads);
        Assert.Equal(new DepthEstimatorOptions
        {
            ImageProcessor = ImageProcessorKind.Fast, Int8Weights = true, UseFovModel = false, PreferExifFocalLength = false,
            FlipAverage = true, FocalLengthPixels = 1234.5,
        }, p.Estimator);
        Assert.Equal((false, 1_000_000L), (p.Decode.ApplyExifOrientation, p.Decode.MaxPixels));
    }

    [Fact]
    public void UnsetKeysKeepTheLibrarysDefaults()
    {
        using var services = Services(new Dictionary<string, string?> { ["DepthEstimation:Model"] = TinyModel });
        var p = services.GetRequiredService<IOptions<DepthEstimationOptions>>().Value.ToPipelineOptions();
        Assert.Equal(new DepthEstimatorOptions(), p.Estimator);
        Assert.Equal(new DepthSharp.Imaging.ImageDecodeOptions(), p.Decode);
        Assert.Null(p.Threads);
    }

    [Fact]
    public void UnusableSettingsAreRefusedWithTheReason()
    {
        using var services = Services(new Dictionary<string, string?> { ["DepthEstimation:Model"] = TinyModel, ["DepthEstimation:Threads"] = "0" });
        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<DepthPipelineProvider>());
        Assert.Contains("Threads must be at least 1", e.Message);
    }

    [Fact]
    public async Task OnePipelineIsSharedAndLoadedOnce()
    {
        using var services = new ServiceCollection().AddLogging()
            .AddDepthEstimation(o => { o.Model = TinyModel; o.LoadOnStart = false; })
            .AddDepthEstimation(o => o.Int8Weights = true)
            .BuildServiceProvider();
        var provider = services.GetRequiredService<DepthPipelineProvider>();
        using (var scope = services.CreateScope()) Assert.Same(provider, scope.ServiceProvider.GetRequiredService<DepthPipelineProvider>());
        Assert.Single(services.GetServices<IHostedService>().OfType<DepthPipelineWarmup>());
        Assert.Single(services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations, r => r.Name == DepthModelHealthCheck.Name);

        var loads = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => provider.GetPipelineAsync())));
        Assert.All(loads, p => Assert.Same(loads[0], p));
        Assert.Same(loads[0], provider.Pipeline);
        Assert.Same(loads[0], await provider.GetPipelineAsync());
        Assert.Equal("depth_pro", loads[0].ModelType);
        // Both registrations' settings go to the one model's options.
        Assert.True(services.GetRequiredService<IOptions<DepthEstimationOptions>>().Value.Int8Weights);
    }

    [Fact]
    public async Task HealthIsUnhealthyUntilTheModelIsLoadedThenNamesIt()
    {
        using var services = Services(new Dictionary<string, string?> { ["DepthEstimation:Model"] = TinyModel, ["DepthEstimation:LoadOnStart"] = "false" });
        var provider = services.GetRequiredService<DepthPipelineProvider>();

        var before = await Health(services);
        Assert.Equal(HealthStatus.Unhealthy, before.Status);
        Assert.Equal(DepthModelState.NotLoaded, provider.State);
        Assert.Null(provider.Pipeline);
        Assert.Contains("not loaded", before.Entries[DepthModelHealthCheck.Name].Description);

        await provider.GetPipelineAsync();
        var after = await Health(services);
        Assert.Equal(HealthStatus.Healthy, after.Status);
        Assert.Equal(DepthModelState.Ready, provider.State);
        var entry = after.Entries[DepthModelHealthCheck.Name];
        Assert.Contains(TinyModel, entry.Description);
        Assert.Contains("depth_pro", entry.Description);
        Assert.Equal("depth_pro", entry.Data["model_type"]);
        Assert.Contains("ready", entry.Tags);
    }

    [Fact]
    public async Task BadModelFolderIsReportedByTheHealthCheckWithTheReason()
    {
        string empty = Directory.CreateTempSubdirectory("depthsharp-hosting-noconfig-").FullName;
        try
        {
            using var services = Services(new Dictionary<string, string?> { ["DepthEstimation:Model"] = empty, ["DepthEstimation:LoadOnStart"] = "false" });
            var provider = services.GetRequiredService<DepthPipelineProvider>();
            var e = await Assert.ThrowsAsync<ConfigException>(() => provider.GetPipelineAsync());
            Assert.Contains("config.json", e.Message);
            // Every caller gets the same failure; the load is not retried.
            Assert.Same(e, await Assert.ThrowsAsync<ConfigException>(() => provider.GetPipelineAsync()));
            Assert.Equal(DepthModelState.Failed, provider.State);
            Assert.Same(e, provider.LoadError);

            var entry = (await Health(services)).Entries[DepthModelHealthCheck.Name];
            Assert.Equal(HealthStatus.Unhealthy, entry.Status);
            Assert.Contains(empty, entry.Description);
            Assert.Contains("config.json", entry.Description);
            Assert.Same(e, entry.Exception);
        }
        finally { Directory.Delete(empty, recursive: true); }
    }

    [Fact]
    public async Task HostStartLoadsTheModelInTheBackground()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DepthEstimation:Model"] = TinyModel });
        builder.Services.AddDepthEstimation(builder.Configuration.GetSection("DepthEstimation"));
        using var host = builder.Build();
        var provider = host.Services.GetRequiredService<DepthPipelineProvider>();
        Assert.Equal(DepthModelState.NotLoaded, provider.State);

        await host.StartAsync();
        Assert.NotEqual(DepthModelState.NotLoaded, provider.State);
        var pipeline = await provider.GetPipelineAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(HealthStatus.Healthy, (await Health(host.Services)).Status);
        var estimate = await pipeline.EstimateAsync(Path.Combine(TinyModel, "image0.png"));
        Assert.Equal(pipeline.Estimate(Path.Combine(TinyModel, "image0.png")).Depth.Depth, estimate.Depth.Depth);
        await host.StopAsync();
    }
}
