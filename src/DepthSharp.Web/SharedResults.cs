using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using DepthSharp.Analysis;
using DepthSharp.Extensions.Hosting;
using DepthSharp.Pipeline;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace DepthSharp.Web;

/// <summary>A result read back from the shared store, with the picture it was computed from and the replica that computed it.</summary>
internal sealed record SharedResult(DepthResult Result, byte[] Picture, string ComputedBy);

/// <summary>
/// Results shared by the replicas of a scaled-out service through Redis, under <see cref="ResultCacheKey"/> ids, each
/// kept for the TTL; calibrations of them as their known points. Redis being unreachable never fails a request: a lookup is then a miss and a store is skipped, so
/// the replica answers by computing, and the outage is logged once when it starts and once when it ends.
/// </summary>
internal sealed partial class SharedResults : IAsyncDisposable
{
    private const string KeyPrefix = "depthsharp:result:";
    private const string CalibrationPrefix = "depthsharp:calibration:";
    private readonly Task<ConnectionMultiplexer> _redis;
    private readonly TimeSpan _ttl;
    private readonly ILogger _logger;
    private readonly Lazy<Task<string>> _fingerprint;
    private readonly DepthPipelineProvider _model;
    private readonly DepthEstimationOptions _options;
    private int _down;

    public SharedResults(ScaleOutOptions scaleOut, DepthPipelineProvider model, IOptions<DepthEstimationOptions> options, ILogger<SharedResults> logger)
    {
        _ttl = scaleOut.ResultTtl;
        _logger = logger;
        _model = model;
        _options = options.Value;
        Endpoint = scaleOut.Redis!;
        Replica = scaleOut.ReplicaName;
        _fingerprint = new(() => Task.Run(async () => ResultCacheKey.ModelFingerprint((await _model.GetPipelineAsync()).ModelFolder)));
        _redis = Connect(ScaleOutOptions.RedisConfiguration(Endpoint));
    }

    /// <summary>The Redis configuration as given (host:port[,options]).</summary>
    public string Endpoint { get; }

    /// <summary>This replica's name, recorded with the results it computes.</summary>
    public string Replica { get; }

    /// <summary>Whether Redis answers now.</summary>
    public bool IsConnected => _redis is { IsCompletedSuccessfully: true, Result.IsConnected: true };

    private async Task<ConnectionMultiplexer> Connect(ConfigurationOptions configuration)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(configuration).ConfigureAwait(false);
        redis.ConnectionFailed += (_, e) => Down($"{e.FailureType} on {e.EndPoint}");
        redis.ConnectionRestored += (_, _) => Up();
        if (redis.IsConnected) LogConnected(_logger, Endpoint, _ttl);
        else Down("no connection at start");
        return redis;
    }

    /// <summary>The id of a picture's result (with its prompt depth, when one was sent) for the loaded model and these settings.</summary>
    public async Task<string> KeyAsync(byte[] picture, byte[]? promptDepth)
    {
        string model = await _fingerprint.Value.ConfigureAwait(false);
        return ResultCacheKey.For(picture, model, _options, promptDepth);
    }

    /// <summary>The result stored under <paramref name="id"/>; null when there is none, it is unreadable, or Redis is unreachable.</summary>
    public async Task<SharedResult?> TryGetAsync(string id)
    {
        RedisValue value;
        try { value = await (await _redis.ConfigureAwait(false)).GetDatabase().StringGetAsync(KeyPrefix + id).ConfigureAwait(false); }
        catch (Exception e) when (e is RedisException or TimeoutException) { Down(Reason(e)); return null; }
        Up();
        if (value.IsNull) return null;
        var stored = SharedResultCodec.Decode((byte[])value!);
        if (stored is null) LogUnreadable(_logger, id);
        return stored;
    }

    /// <summary>Stores a result this replica computed; false when Redis is unreachable (the result then stays local).</summary>
    public async Task<bool> TryStoreAsync(string id, byte[] picture, DepthResult result)
    {
        byte[] value = SharedResultCodec.Encode(result, picture, Replica);
        try { await (await _redis.ConfigureAwait(false)).GetDatabase().StringSetAsync(KeyPrefix + id, value, _ttl, When.Always).ConfigureAwait(false); }
        catch (Exception e) when (e is RedisException or TimeoutException) { Down(Reason(e)); return false; }
        Up();
        return true;
    }

    /// <summary>
    /// Shares a calibration of a shared result: its known points, under the calibrated result's id
    /// (<see cref="ResultCacheKey.Calibrated"/>); any replica calibrates the shared model output by them again. False
    /// when Redis is unreachable (the calibrated result then stays local).
    /// </summary>
    public async Task<bool> TryStoreCalibrationAsync(string id, IReadOnlyList<KnownDepth> known)
    {
        try { await (await _redis.ConfigureAwait(false)).GetDatabase().StringSetAsync(CalibrationPrefix + id, ResultCacheKey.KnownText(known), _ttl, When.Always).ConfigureAwait(false); }
        catch (Exception e) when (e is RedisException or TimeoutException) { Down(Reason(e)); return false; }
        Up();
        return true;
    }

    /// <summary>The known points a calibrated result's id was made from; null when there are none, they are unreadable, or Redis is unreachable.</summary>
    public async Task<List<KnownDepth>?> TryGetCalibrationAsync(string id)
    {
        RedisValue value;
        try { value = await (await _redis.ConfigureAwait(false)).GetDatabase().StringGetAsync(CalibrationPrefix + id).ConfigureAwait(false); }
        catch (Exception e) when (e is RedisException or TimeoutException) { Down(Reason(e)); return null; }
        Up();
        if (value.IsNull) return null;
        // The id is a hash of the points: points that do not give it back are not this calibration's.
        var known = ResultCacheKey.ParseKnown(value.ToString());
        if (known is null || ResultCacheKey.CalibratedFrom(id) is not { } from || ResultCacheKey.Calibrated(from, known) != id)
        {
            LogUnreadableCalibration(_logger, id);
            return null;
        }
        return known;
    }

    /// <summary>The failure in a few words (the exception's message lists the connection's whole state).</summary>
    private static string Reason(Exception e) => e switch
    {
        RedisConnectionException c => c.FailureType.ToString(),
        RedisTimeoutException or TimeoutException => "timeout",
        _ => e.GetType().Name,
    };

    private void Down(string reason)
    {
        if (Interlocked.Exchange(ref _down, 1) == 0) LogUnreachable(_logger, Endpoint, reason);
    }

    private void Up()
    {
        if (Interlocked.Exchange(ref _down, 0) == 1) LogConnected(_logger, Endpoint, _ttl);
    }

    public async ValueTask DisposeAsync()
    {
        try { await (await _redis.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false); }
        catch (RedisException) { /* a connection that never came up has nothing to close */ }
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Results shared through Redis at {Endpoint}, kept for {Ttl}")]
    private static partial void LogConnected(ILogger logger, string endpoint, TimeSpan ttl);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error,
        Message = "Redis at {Endpoint} is unreachable ({Reason}): answering by computing, results are not shared until it is back")]
    private static partial void LogUnreachable(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Shared result {Id} is unreadable; computing it again")]
    private static partial void LogUnreadable(ILogger logger, string id);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Shared calibration {Id} is unreadable; it is not found")]
    private static partial void LogUnreadableCalibration(ILogger logger, string id);
}

/// <summary>Redis's part of /api/health: degraded (still answering, by computing) while Redis is unreachable.</summary>
internal sealed class SharedResultsHealthCheck(SharedResults shared) : IHealthCheck
{
    public const string Name = "depthsharp-redis";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(shared.IsConnected
            ? HealthCheckResult.Healthy($"results shared through Redis at {shared.Endpoint}")
            : new HealthCheckResult(context.Registration.FailureStatus,
                $"Redis at {shared.Endpoint} is unreachable: answering by computing, results are not shared"));
}

/// <summary>
/// A shared result's bytes: "DSR1", the metadata's length (int32, little-endian) and its JSON, the depth (float32,
/// little-endian, row-major), then the picture as uploaded.
/// </summary>
internal static class SharedResultCodec
{
    private static ReadOnlySpan<byte> Magic => "DSR1"u8;

    public static byte[] Encode(DepthResult r, byte[] picture, string computedBy)
    {
        var meta = new SharedResultMeta(r.Width, r.Height, r.Kind, r.FieldOfView, r.FocalLength, r.FocalLengthSource, r.Domain, r.Coloring, computedBy);
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(meta, SharedResultJson.Default.SharedResultMeta);
        int depthBytes = r.Depth.Length * sizeof(float);
        var value = new byte[Magic.Length + 4 + json.Length + depthBytes + picture.Length];
        var rest = value.AsSpan();
        Magic.CopyTo(rest); rest = rest[Magic.Length..];
        BinaryPrimitives.WriteInt32LittleEndian(rest, json.Length); rest = rest[4..];
        json.CopyTo(rest); rest = rest[json.Length..];
        WriteFloats(r.Depth, rest); rest = rest[depthBytes..];
        picture.CopyTo(rest);
        return value;
    }

    /// <summary>The stored result, or null when the bytes are not one (another scheme, cut short, sizes that disagree).</summary>
    public static SharedResult? Decode(byte[] value)
    {
        var rest = value.AsSpan();
        if (rest.Length < Magic.Length + 4 || !rest[..Magic.Length].SequenceEqual(Magic)) return null;
        rest = rest[Magic.Length..];
        int jsonLength = BinaryPrimitives.ReadInt32LittleEndian(rest); rest = rest[4..];
        if (jsonLength < 0 || jsonLength > rest.Length) return null;
        SharedResultMeta? meta;
        try { meta = JsonSerializer.Deserialize(rest[..jsonLength], SharedResultJson.Default.SharedResultMeta); }
        catch (JsonException) { return null; }
        rest = rest[jsonLength..];
        if (meta is null || meta.Width < 1 || meta.Height < 1 || (long)meta.Width * meta.Height * sizeof(float) > rest.Length) return null;
        var depth = new float[meta.Width * meta.Height];
        ReadFloats(rest, depth);
        rest = rest[(depth.Length * sizeof(float))..];
        var result = new DepthResult(depth, meta.Width, meta.Height, meta.Kind, meta.FieldOfView, meta.FocalLength, meta.FocalLengthSource, meta.Domain)
        { Coloring = meta.Coloring };
        return new SharedResult(result, rest.ToArray(), meta.ComputedBy);
    }

    private static void WriteFloats(float[] values, Span<byte> to)
    {
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(to[(i * 4)..], values[i]);
    }

    private static void ReadFloats(ReadOnlySpan<byte> from, float[] values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(from[(i * 4)..]);
    }
}

/// <summary>A shared result's metadata.</summary>
internal sealed record SharedResultMeta(int Width, int Height, DepthKind Kind, double? FieldOfView, double? FocalLength,
    FocalLengthSource FocalLengthSource, string? Domain, DepthColoring Coloring, string ComputedBy);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(SharedResultMeta))]
internal sealed partial class SharedResultJson : JsonSerializerContext;
