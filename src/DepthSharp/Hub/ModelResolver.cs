using System.Text.Json;

namespace DepthSharp.Hub;

/// <summary>Turns a model name (a local folder, or a Hub repo id with optional @revision) into a folder with config, processor config and weights.</summary>
public static class ModelResolver
{
    /// <summary>The model used when none is named.</summary>
    public const string DefaultModel = "apple/DepthPro-hf";

    /// <summary>
    /// An existing folder as it is; otherwise a Hub repo id whose config.json, preprocessor_config.json and model.safetensors
    /// (or model.safetensors.index.json and each shard it names) are fetched into the cache. Returns the snapshot folder.
    /// <paramref name="progress"/> receives the bytes downloaded so far by this call.
    /// </summary>
    /// <param name="model">A local folder, or a Hub repo id <c>org/name</c> or <c>org/name@revision</c>.</param>
    /// <param name="options">Hub endpoint, cache, token and offline mode; null: from the HF_* environment variables.</param>
    /// <param name="progress">Receives the bytes downloaded so far; null: none.</param>
    /// <param name="cancellationToken">Cancels the downloads.</param>
    /// <returns>The full path of the folder holding the model's files.</returns>
    /// <exception cref="HubException">The name is neither a folder nor a repo id, or a file cannot be found, fetched or verified.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public static async Task<string> ResolveAsync(string model, HubOptions? options = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        if (Directory.Exists(model)) return Path.GetFullPath(model);
        var id = HubModelId.Parse(model);
        var client = new HubClient(options ?? HubOptions.FromEnvironment());
        var total = new Total(progress);
        string config = await client.DownloadAsync(id, "config.json", total.Next(), cancellationToken);
        await client.DownloadAsync(id, "preprocessor_config.json", total.Next(), cancellationToken);
        try
        {
            await client.DownloadAsync(id, "model.safetensors", total.Next(), cancellationToken);
        }
        catch (HubException single) when (single.Kind is HubErrorKind.FileNotFound or HubErrorKind.NotCached)
        {
            string index;
            try { index = await client.DownloadAsync(id, "model.safetensors.index.json", total.Next(), cancellationToken); }
            catch (HubException e) when (e.Kind == single.Kind)
            {
                throw new HubException(single.Kind, $"{single.Message}; nor is model.safetensors.index.json (a sharded checkpoint)", e);
            }
            foreach (string shard in Shards(index, id))
                await client.DownloadAsync(id, shard, total.Next(), cancellationToken);
        }
        return Path.GetDirectoryName(config)!;
    }

    /// <summary>The distinct shard files an index's weight_map names, in first-seen order.</summary>
    private static List<string> Shards(string indexPath, HubModelId id)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            var shards = doc.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!).Distinct().ToList();
            return shards.Count > 0 ? shards : throw new CheckpointException(indexPath, $"{id}: the weight_map names no shards");
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CheckpointException(indexPath, $"{id}: not a safetensors index with a weight_map of file names ({e.Message})");
        }
    }

    /// <summary>Adds each file's running byte count to the bytes of the files before it.</summary>
    private sealed class Total(IProgress<long>? outer)
    {
        private long _done, _current;

        public IProgress<long>? Next()
        {
            _done += _current;
            _current = 0;
            return outer is null ? null : new Inline(n => { _current = n; outer.Report(_done + n); });
        }
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to a synchronization context).</summary>
    private sealed class Inline(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
