using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace DepthSharp.Tests.Hub;

/// <summary>
/// A loopback server that answers like the Hugging Face Hub: /{repo}/resolve/{rev}/{file} gives X-Repo-Commit and an ETag
/// (the git blob sha1 for small files; for *.safetensors a 302 to /cdn/... with X-Linked-Etag = sha256, as LFS files are served),
/// Range requests get 206, private repos want a bearer token, and 404s carry X-Error-Code. It serves at most
/// <see cref="MaxRequests"/> requests and stops itself after two minutes.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    public const string Commit = "0123456789abcdef0123456789abcdef01234567";
    private const int MaxRequests = 400;

    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(2));
    private bool _disposed;
    private readonly Dictionary<string, (string Folder, string? Token)> _repos = new(StringComparer.Ordinal);

    /// <summary>Requests seen, as "METHOD path [range]".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Files whose next CDN download is cut half-way (then served normally).</summary>
    public ConcurrentDictionary<string, bool> CutOnce { get; } = new();

    /// <summary>When set, LFS files advertise this sha256 instead of their own.</summary>
    public string? WrongSha256 { get; set; }

    /// <summary>Pause between 64 KiB chunks, to make concurrent downloads overlap.</summary>
    public TimeSpan ChunkDelay { get; set; }

    public string Endpoint { get; }

    public FakeHub()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _ = Task.Run(ServeAsync);
    }

    /// <summary>Serves <paramref name="folder"/>'s files as repo <paramref name="repo"/>; with a token the repo is private.</summary>
    public FakeHub WithRepo(string repo, string folder, string? token = null)
    {
        _repos[repo] = (folder, token);
        return this;
    }

    public int Count(string fragment) => Requests.Count(r => r.Contains(fragment, StringComparison.Ordinal));

    private async Task ServeAsync()
    {
        for (int served = 0; served < MaxRequests && !_stop.IsCancellationRequested; served++)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync().WaitAsync(_stop.Token); }
            catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException) { return; }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var (request, response) = (context.Request, context.Response);
        string path = Uri.UnescapeDataString(request.Url!.AbsolutePath);
        Requests.Enqueue($"{request.HttpMethod} {path} {request.Headers["Range"]}".TrimEnd());
        try
        {
            if (path.StartsWith("/cdn/", StringComparison.Ordinal))
            {
                string[] cdn = path["/cdn/".Length..].Split('/', 3);
                await SendFileAsync(context, Path.Combine(_repos[$"{cdn[0]}/{cdn[1]}"].Folder, cdn[2]), cdn[2]);
                return;
            }
            string[] parts = path.TrimStart('/').Split('/', 5); // org, name, "resolve", revision, file
            if (parts.Length < 5 || parts[2] != "resolve") { End(response, 400); return; }
            string repo = $"{parts[0]}/{parts[1]}", revision = parts[3], file = parts[4];
            if (!_repos.TryGetValue(repo, out var entry)) { End(response, 404, "RepoNotFound"); return; }
            if (entry.Token is string token && request.Headers["Authorization"] != $"Bearer {token}") { End(response, 401); return; }
            if (revision is not ("main" or Commit)) { End(response, 404, "RevisionNotFound"); return; }
            string local = Path.Combine(entry.Folder, file);
            if (!File.Exists(local)) { End(response, 404, "EntryNotFound"); return; }
            response.Headers["X-Repo-Commit"] = Commit;
            if (file.EndsWith(".safetensors", StringComparison.Ordinal))
            {
                response.Headers["X-Linked-Etag"] = $"\"{WrongSha256 ?? Sha256(local)}\"";
                response.Headers["ETag"] = "\"pointer-etag\"";
                response.Headers["Location"] = $"/cdn/{repo}/{file}";
                End(response, 302);
                return;
            }
            response.Headers["ETag"] = $"\"{GitBlobSha1(local)}\"";
            await SendFileAsync(context, local, file);
        }
        catch (Exception e) when (e is IOException or HttpListenerException or ObjectDisposedException or InvalidOperationException)
        {
            // The client went away (or the test cut it); nothing to answer.
        }
    }

    private async Task SendFileAsync(HttpListenerContext context, string local, string file)
    {
        var (request, response) = (context.Request, context.Response);
        byte[] bytes = await File.ReadAllBytesAsync(local);
        long from = request.Headers["Range"] is string range && range.StartsWith("bytes=", StringComparison.Ordinal)
            ? long.Parse(range["bytes=".Length..].TrimEnd('-')) : 0;
        if (from >= bytes.Length && from > 0)
        {
            response.Headers["Content-Range"] = $"bytes */{bytes.Length}";
            End(response, 416);
            return;
        }
        if (from > 0)
        {
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }
        response.ContentLength64 = bytes.Length - from;
        if (request.HttpMethod == "HEAD") { response.Close(); return; }
        bool cut = CutOnce.TryRemove(file, out _);
        long end = cut ? from + (bytes.Length - from) / 2 : bytes.Length;
        for (long at = from; at < end; at += 1 << 16)
        {
            await response.OutputStream.WriteAsync(bytes.AsMemory((int)at, (int)Math.Min(1 << 16, end - at)));
            if (ChunkDelay > TimeSpan.Zero) await Task.Delay(ChunkDelay);
        }
        if (cut)
        {
            await response.OutputStream.FlushAsync();
            response.Abort(); // drops the connection with the body half sent
            return;
        }
        response.Close();
    }

    private static void End(HttpListenerResponse response, int status, string? errorCode = null)
    {
        response.StatusCode = status;
        if (errorCode is not null) response.Headers["X-Error-Code"] = errorCode;
        response.ContentLength64 = 0;
        response.Close();
    }

    public static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static string GitBlobSha1(string path)
    {
        byte[] content = File.ReadAllBytes(path);
        return Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));
    }

    // Tests may stop the server early (to play an unreachable Hub) and then dispose it again.
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
