using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace DepthSharp.Extensions.Hosting;

/// <summary>Starts the model's load when the host starts (<see cref="DepthEstimationOptions.LoadOnStart"/>), without waiting for it.</summary>
internal sealed class DepthPipelineWarmup(DepthPipelineProvider provider, IOptions<DepthEstimationOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.LoadOnStart) provider.StartLoading();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
