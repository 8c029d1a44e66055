using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace DepthSharp.Hub;

/// <summary>Downloads single files of Hub repos into the shared huggingface_hub cache (see <see cref="HubCache"/>).</summary>
public sealed partial class HubClient
{
    private const int MaxRedirects = 10;

    // One pooled client for the process; redirects are followed by hand so that the token goes to the endpoint's host only.
    private static readonly HttpClient Http = new(new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.None })
    {
        DefaultRequestHeaders = { UserAgent = { new ProductInfoHeaderValue("DepthSharp", "1.0") } },
    };

    private readonly HubOptions _options;
    private readonly Uri _endpoint;

    /// <summary>A client for the endpoint and cache of <paramref name="options"/>; it holds no connection of its own, so it needs no disposing.</summary>
    /// <param name="options">Endpoint, cache folder, token, offline mode and lock timeout.</param>
    /// <exception cref="UriFormatException">The endpoint is not an absolute URL.</exception>
    public HubClient(HubOptions options)
    {
        _options = options;
        _endpoint = new Uri(options.Endpoint.TrimEnd('/') + "/");
    }

    /// <summary>
    /// The local path of <paramref name="file"/> at the id's revision (snapshots/{commit}/{file}), downloading it when it is not cached.
    /// <paramref name="progress"/> receives the bytes received so far by this call. A download goes to a partial file (kept and
    /// resumed on a later call after a broken connection), is checked against its length and, for LFS files, the sha256 the
    /// Hub announces, and only then enters the cache, under a lock file that other downloads of the same file wait for: the
    /// cache never holds a half-written file.
    /// </summary>
    /// <param name="id">The repo and revision.</param>
    /// <param name="file">The file's path inside the repo, with '/' separators.</param>
    /// <param name="progress">Receives the bytes received so far; null: none.</param>
    /// <param name="cancellationToken">Cancels the request and the transfer.</param>
    /// <returns>The cached file's full path.</returns>
    /// <exception cref="HubException">The file cannot be found, fetched or verified, or is not cached while offline (<see cref="HubException.Kind"/> says which).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    public async Task<string> DownloadAsync(HubModelId id, string file, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        // Repo paths use '/'; anything that could climb out of the snapshot folder is refused.
        if (file.Split('/').Any(s => s is "" or "." or "..") || file.Contains('\\') || Path.IsPathRooted(file))
            throw new HubException(HubErrorKind.FileNotFound, $"{id}: '{file}' is not a file name inside the repo");
        string repoDir = HubCache.RepoDir(_options.CacheDir, id.Repo);
        if (_options.Offline)
            return HubCache.CachedFile(repoDir, id.Revision, file) ?? throw new HubException(HubErrorKind.NotCached,
                $"{id}: {file} is not in the cache {repoDir} and HF_HUB_OFFLINE=1 forbids downloading it");

        Uri url = new(_endpoint, $"{id.Repo}/resolve/{Uri.EscapeDataString(id.Revision)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}");
        (string commit, string etag) meta;
        try
        {
            meta = await MetadataAsync(id, file, url, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            // As huggingface_hub does: an unreachable Hub falls back to what the cache already has.
            return HubCache.CachedFile(repoDir, id.Revision, file) ?? throw new HubException(HubErrorKind.Transfer,
                $"{id}: cannot reach {_options.Endpoint} for {file} and it is not cached: {e.Message}", e);
        }

        HubCache.WriteRef(repoDir, id.Revision, meta.commit);
        string pointer = HubCache.SnapshotPath(repoDir, meta.commit, file);
        if (HubCache.Usable(pointer)) return pointer;
        string blob = HubCache.BlobPath(repoDir, meta.etag);
        if (!File.Exists(blob))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            await using var held = await LockAsync(blob + ".lock", id, file, cancellationToken);
            // Whoever held the lock before us may have finished the blob.
            if (!File.Exists(blob)) await FetchBlobAsync(id, file, url, blob, meta.etag, progress, cancellationToken);
        }
        HubCache.Link(blob, pointer);
        return pointer;
    }

    /// <summary>Commit and blob name from a HEAD request; LFS files answer with a redirect carrying X-Linked-Etag (their sha256).</summary>
    private async Task<(string commit, string etag)> MetadataAsync(HubModelId id, string file, Uri url, CancellationToken cancellationToken)
    {
        string? commit = null, etag = null;
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            using var response = await SendAsync(HttpMethod.Head, url, null, cancellationToken);
            commit ??= Header(response, "X-Repo-Commit");
            etag ??= Header(response, "X-Linked-Etag");
            if (IsRedirect(response.StatusCode))
            {
                // An LFS redirect already carries all we need; others (a renamed repo) are followed.
                if (commit is not null && etag is not null) return Checked(id, file, commit, etag);
                url = RedirectTarget(response, url, id, file);
                continue;
            }
            ThrowOnError(response, id, file);
            return Checked(id, file, commit, etag ?? Header(response, "ETag"));
        }
        throw new HubException(HubErrorKind.Transfer, $"{id}: more than {MaxRedirects} redirects for {file}");
    }

    private static (string commit, string etag) Checked(HubModelId id, string file, string? commit, string? etag)
    {
        if (commit is null || etag is null)
            throw new HubException(HubErrorKind.Transfer, $"{id}: the Hub's answer for {file} lacks {(commit is null ? "X-Repo-Commit" : "an ETag")}");
        if (!SafeName().IsMatch(etag) || !SafeName().IsMatch(commit))
            throw new HubException(HubErrorKind.Transfer, $"{id}: the Hub's answer for {file} has an unusable commit '{commit}' or ETag '{etag}'");
        return (commit, etag);
    }

    /// <summary>Downloads into {blob}.incomplete (resuming what is there with a Range request), verifies LFS sha256s, then renames into place.</summary>
    private async Task FetchBlobAsync(HubModelId id, string file, Uri url, string blob, string etag, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        string partial = blob + ".incomplete";
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        var response = await GetFollowingAsync(id, file, url, have, cancellationToken);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // The partial file is not a prefix the server can continue (e.g. as long as the whole file): start over.
            response.Dispose();
            File.Delete(partial);
            have = 0;
            response = await GetFollowingAsync(id, file, url, 0, cancellationToken);
        }
        using var _ = response;
        if (response.StatusCode != HttpStatusCode.PartialContent) have = 0; // the server sent the whole file
        bool lfs = Sha256Pattern().IsMatch(etag);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long received = 0;
        await using (var output = new FileStream(partial, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true))
        {
            output.SetLength(have);
            if (lfs && have > 0) await HashPrefixAsync(output, hash, cancellationToken);
            output.Position = have;
            var buffer = new byte[1 << 16];
            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
                for (int n; (n = await body.ReadAsync(buffer, cancellationToken)) > 0;)
                {
                    await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    if (lfs) hash.AppendData(buffer, 0, n);
                    received += n;
                    progress?.Report(received);
                }
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                throw new HubException(HubErrorKind.Transfer,
                    $"{id}: connection lost while downloading {file} after {have + received} bytes; the partial file {partial} is kept and resumed on the next try", e);
            }
            if (response.Content.Headers.ContentLength is long expected && received != expected)
                throw new HubException(HubErrorKind.Transfer, $"{id}: {file} ended after {received} of {expected} bytes; the partial file {partial} is kept and resumed on the next try");
        }
        if (lfs)
        {
            string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != etag)
            {
                File.Delete(partial);
                throw new HubException(HubErrorKind.Integrity, $"{id}: {file} has sha256 {actual} but the Hub says {etag}; the download was discarded");
            }
        }
        File.Move(partial, blob, overwrite: true);
    }

    private static async Task HashPrefixAsync(FileStream file, IncrementalHash hash, CancellationToken cancellationToken)
    {
        file.Position = 0;
        var buffer = new byte[1 << 16];
        for (int n; (n = await file.ReadAsync(buffer, cancellationToken)) > 0;) hash.AppendData(buffer, 0, n);
    }

    private async Task<HttpResponseMessage> GetFollowingAsync(HubModelId id, string file, Uri url, long from, CancellationToken cancellationToken)
    {
        for (int hop = 0; hop <= MaxRedirects; hop++)
        {
            var response = await SendAsync(HttpMethod.Get, url, from > 0 ? new RangeHeaderValue(from, null) : null, cancellationToken);
            if (IsRedirect(response.StatusCode))
            {
                using (response) url = RedirectTarget(response, url, id, file);
                continue;
            }
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && from > 0) return response;
            try { ThrowOnError(response, id, file); }
            catch { response.Dispose(); throw; }
            return response;
        }
        throw new HubException(HubErrorKind.Transfer, $"{id}: more than {MaxRedirects} redirects for {file}");
    }

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, RangeHeaderValue? range, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(method, url);
        if (_options.Token is string token && url.Authority == _endpoint.Authority)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Range = range;
        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    private void ThrowOnError(HttpResponseMessage response, HubModelId id, string file)
    {
        if (response.IsSuccessStatusCode) return;
        string? code = Header(response, "X-Error-Code");
        throw response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new HubException(HubErrorKind.Unauthorized, _options.Token is null
                ? $"{id}: {(int)response.StatusCode} for {file}: the repo is private, gated or missing; set HF_TOKEN to an access token that can read it"
                : $"{id}: {(int)response.StatusCode} for {file}: the token in HF_TOKEN cannot read this repo"),
            HttpStatusCode.NotFound when code == "RepoNotFound" => new HubException(HubErrorKind.RepoNotFound, $"{id}: repo {id.Repo} not found on {_options.Endpoint}"),
            HttpStatusCode.NotFound when code == "RevisionNotFound" => new HubException(HubErrorKind.RevisionNotFound, $"{id}: revision {id.Revision} not found in {id.Repo}"),
            HttpStatusCode.NotFound => new HubException(HubErrorKind.FileNotFound, $"{id}: file {file} not found in {id.Repo} at revision {id.Revision}"),
            _ => new HubException(HubErrorKind.Transfer, $"{id}: HTTP {(int)response.StatusCode} {response.ReasonPhrase} for {file}"),
        };
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400;

    private static Uri RedirectTarget(HttpResponseMessage response, Uri from, HubModelId id, string file) =>
        response.Headers.Location is Uri location ? new Uri(from, location)
            : throw new HubException(HubErrorKind.Transfer, $"{id}: redirect without a Location for {file}");

    private static string? Header(HttpResponseMessage response, string name)
    {
        if (!response.Headers.TryGetValues(name, out var values) && !response.Content.Headers.TryGetValues(name, out values)) return null;
        // ETags arrive quoted and possibly weak (W/"..."); the blob is named by the bare value.
        string value = values.First().Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal)) value = value[2..];
        return value.Trim('"');
    }

    private async Task<FileStream> LockAsync(string path, HubModelId id, string file, CancellationToken cancellationToken)
    {
        // FileShare.None is an exclusive lock that other processes (and other handles in this one) see; retry until the timeout.
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) when (waited.Elapsed < _options.LockTimeout) { await Task.Delay(50, cancellationToken); }
            catch (IOException e) { throw new HubException(HubErrorKind.Locked, $"{id}: {file}: {path} stayed locked by another download for {_options.LockTimeout}", e); }
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Pattern();

    // Commits and ETags become file names in the cache, so they may hold no separators.
    [GeneratedRegex(@"^(?!\.{1,2}$)[\w.-]+$")]
    private static partial Regex SafeName();
}
