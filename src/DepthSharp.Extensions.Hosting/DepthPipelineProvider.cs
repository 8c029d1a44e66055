using System.Diagnostics;
using DepthSharp.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace DepthSharp.Extensions.Hosting;

/// <summary>Where the shared model is in its life.</summary>
public enum DepthModelState
{
    /// <summary>Nothing has asked for the model yet (<see cref="DepthEstimationOptions.LoadOnStart"/> is false).</summary>
    NotLoaded,

    /// <summary>The model is being resolved, downloaded or loaded.</summary>
    Loading,

    /// <summary>The model is loaded: <see cref="DepthPipelineProvider.Pipeline"/> is set.</summary>
    Ready,

    /// <summary>Loading failed: <see cref="DepthPipelineProvider.LoadError"/> says why. It is not retried; fix the settings and restart.</summary>
    Failed,
}

/// <summary>
/// The one <see cref="DepthPipeline"/> of an application, registered as a singleton by <c>AddDepthEstimation</c>. The model is
/// loaded once, by the first caller or at host start (<see cref="DepthEstimationOptions.LoadOnStart"/>), and shared by all;
/// <see cref="State"/> and the health check tell whether it is ready. A pipeline is safe to use from several threads at once.
/// </summary>
public sealed partial class DepthPipelineProvider : IDisposable
{
    private readonly DepthEstimationOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _gate = new();
    private Task<DepthPipeline>? _load;

    /// <summary>A provider for the given settings; <paramref name="logger"/> receives the load's start, end and failure.</summary>
    /// <exception cref="OptionsValidationException">The settings cannot be used (an empty model name, threads below 1...).</exception>
    public DepthPipelineProvider(IOptions<DepthEstimationOptions> options, ILogger<DepthPipelineProvider>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        if (_options.Problem() is string problem) throw new OptionsValidationException(Options.DefaultName, typeof(DepthEstimationOptions), [problem]);
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The model as configured: a folder or a Hub repo id.</summary>
    public string Model => _options.Model;

    /// <summary>Whether the model is loaded, loading, failed or not yet asked for.</summary>
    public DepthModelState State
    {
        get
        {
            var load = _load;
            return load is null ? DepthModelState.NotLoaded
                : !load.IsCompleted ? DepthModelState.Loading
                : load.IsCompletedSuccessfully ? DepthModelState.Ready
                : DepthModelState.Failed;
        }
    }

    /// <summary>The loaded pipeline, or null until <see cref="State"/> is <see cref="DepthModelState.Ready"/>.</summary>
    public DepthPipeline? Pipeline => _load is { IsCompletedSuccessfully: true } load ? load.Result : null;

    /// <summary>Why loading failed (a <see cref="ConfigException"/>, <see cref="CheckpointException"/>, <see cref="HubException"/>...), or null.</summary>
    public Exception? LoadError => _load is { IsCompleted: true, IsCompletedSuccessfully: false } load
        ? load.Exception?.InnerException ?? new OperationCanceledException("the model's load was cancelled")
        : null;

    /// <summary>
    /// The shared pipeline: starts loading the model if nothing has yet, and waits for it. Cancelling
    /// <paramref name="cancellationToken"/> stops this wait only; the load goes on for the other callers.
    /// </summary>
    /// <exception cref="DepthSharpException">The model could not be loaded (the same exception for every caller).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The provider was disposed with the host before the model was loaded.</exception>
    public Task<DepthPipeline> GetPipelineAsync(CancellationToken cancellationToken = default) =>
        StartLoading().WaitAsync(cancellationToken);

    /// <summary>The load, started by the first call; later calls get the same task.</summary>
    internal Task<DepthPipeline> StartLoading()
    {
        if (_load is { } started) return started;
        lock (_gate)
        {
            if (_load is null)
            {
                ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
                // On the thread pool: resolving a Hub id and mapping the weights must not hold up the host's start or a caller.
                var load = Task.Run(() => LoadAsync(_disposed.Token));
                // The failure is kept for the health check and later callers; marking it observed keeps it out of
                // TaskScheduler.UnobservedTaskException when no caller ever awaits it.
                load.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                _load = load;
            }
            return _load;
        }
    }

    private async Task<DepthPipeline> LoadAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        LogLoading(_logger, Model);
        try
        {
            var pipeline = await DepthPipeline.CreateAsync(Model, _options.ToPipelineOptions(), new DownloadLog(_logger, Model), cancellationToken).ConfigureAwait(false);
            LogLoaded(_logger, pipeline.ModelType, Model, pipeline.ModelFolder, clock.Elapsed.TotalSeconds);
            return pipeline;
        }
        catch (Exception e)
        {
            LogFailed(_logger, Model, e.Message, e);
            throw;
        }
    }

    /// <summary>Cancels a load still under way (a Hub download, for instance).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed.IsCancellationRequested) return;
            _disposed.Cancel();
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Loading depth model {Model}")]
    private static partial void LogLoading(ILogger logger, string model);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Loaded {ModelType} depth model {Model} from {Folder} in {Seconds:F2} s")]
    private static partial void LogLoaded(ILogger logger, string modelType, string model, string folder, double seconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Depth model {Model} could not be loaded: {Problem}")]
    private static partial void LogFailed(ILogger logger, string model, string problem, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "{Model}: {MiB} MiB downloaded")]
    private static partial void LogDownloaded(ILogger logger, string model, long miB);

    /// <summary>A line every 64 MiB of a Hub download.</summary>
    private sealed class DownloadLog(ILogger logger, string model) : IProgress<long>
    {
        private long _lastLogged;

        public void Report(long value)
        {
            if (value - Interlocked.Read(ref _lastLogged) < 64L << 20) return;
            Interlocked.Exchange(ref _lastLogged, value);
            LogDownloaded(logger, model, value >> 20);
        }
    }
}
