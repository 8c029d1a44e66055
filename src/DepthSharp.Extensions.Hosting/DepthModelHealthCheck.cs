using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace DepthSharp.Extensions.Hosting;

/// <summary>
/// The shared model's health, registered by <c>AddDepthEstimation</c> as <see cref="Name"/> (tagged <c>ready</c>): the
/// registration's failure status (unhealthy by default) while the model is not loaded, with the reason when its load
/// failed; healthy, naming the model, its type and folder, once it is loaded.
/// </summary>
public sealed class DepthModelHealthCheck(DepthPipelineProvider provider) : IHealthCheck
{
    /// <summary>The check's registered name.</summary>
    public const string Name = "depthsharp-model";

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failure = context.Registration.FailureStatus;
        var data = new Dictionary<string, object> { ["model"] = provider.Model, ["state"] = provider.State.ToString() };
        var result = provider.State switch
        {
            DepthModelState.Ready when provider.Pipeline is { } p => HealthCheckResult.Healthy(
                $"{p.ModelType} model {provider.Model} is loaded" + (SameFolder(provider.Model, p.ModelFolder) ? "" : $" (from {p.ModelFolder})"),
                new Dictionary<string, object>(data) { ["model_type"] = p.ModelType, ["folder"] = p.ModelFolder }),
            DepthModelState.Failed => new HealthCheckResult(failure,
                $"model {provider.Model} could not be loaded: {provider.LoadError?.Message}", provider.LoadError, data),
            DepthModelState.Loading => new HealthCheckResult(failure, $"model {provider.Model} is loading", data: data),
            _ => new HealthCheckResult(failure, $"model {provider.Model} is not loaded yet (it loads at the first request)", data: data),
        };
        return Task.FromResult(result);
    }

    /// <summary>Whether the model was named by the folder it was loaded from (a Hub id names a cache snapshot instead).</summary>
    private static bool SameFolder(string model, string folder) =>
        Directory.Exists(model) && Path.TrimEndingDirectorySeparator(Path.GetFullPath(model)) == Path.TrimEndingDirectorySeparator(folder);
}
