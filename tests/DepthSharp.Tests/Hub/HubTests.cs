using DepthSharp.Checkpoints;
using DepthSharp.Hub;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Hub;

public sealed class HubTests : IDisposable
{
    private const string Repo = "apple/tiny-depth";
    private static readonly string Tiny = Fixtures.Path("models", "depth_pro_tiny");
    private static readonly string Sharded = Fixtures.Path("models", "depth_pro_tiny_batch2_bf16_sharded");
    private readonly string _cache = Path.Combine(Path.GetTempPath(), $"depthsharp-hub-{Guid.NewGuid():N}");
    private readonly FakeHub _hub = new();

    public void Dispose()
    {
        _hub.Dispose();
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
    }

    private HubOptions Options(string? token = null, bool offline = false) =>
        new() { Endpoint = _hub.Endpoint, CacheDir = _cache, Token = token, Offline = offline, LockTimeout = TimeSpan.FromSeconds(60) };

    private string RepoDir => Path.Combine(_cache, "models--apple--tiny-depth");

    private static void AssertSameBytes(string expected, string actual) => Assert.Equal(FakeHub.Sha256(expected), FakeHub.Sha256(actual));

    [Fact]
    public void ParsesRepoIdsWithAndWithoutRevision()
    {
        Assert.Equal(new HubModelId("apple/DepthPro-hf", "main"), HubModelId.Parse("apple/DepthPro-hf"));
        Assert.Equal(new HubModelId("Intel/dpt-large", "refs/pr/3"), HubModelId.Parse("Intel/dpt-large@refs/pr/3"));
        foreach (string bad in new[] { "no-slash", "a/b/c", "../x/y", "a/b@", "/abs/path" })
            Assert.Equal(HubErrorKind.InvalidModelId, Assert.Throws<HubException>(() => HubModelId.Parse(bad)).Kind);
    }

    [Fact]
    public void OptionsComeFromTheEnvironmentVariables()
    {
        var env = new Dictionary<string, string> { ["HF_HOME"] = "/tmp/hf", ["HF_ENDPOINT"] = "http://127.0.0.1:9/", ["HF_TOKEN"] = "secret", ["HF_HUB_OFFLINE"] = "1" };
        var options = HubOptions.FromEnvironment(k => env.GetValueOrDefault(k));
        Assert.Equal(("/tmp/hf/hub", "http://127.0.0.1:9", "secret", true), (options.CacheDir, options.Endpoint, options.Token, options.Offline));
        var defaults = HubOptions.FromEnvironment(_ => null);
        Assert.Equal((HubOptions.DefaultEndpoint, false, null), (defaults.Endpoint, defaults.Offline, defaults.Token));
        Assert.EndsWith(Path.Combine(".cache", "huggingface", "hub"), defaults.CacheDir);
    }

    [Fact]
    public async Task LocalFolderIsUsedAsItIs()
    {
        Assert.Equal(Path.GetFullPath(Tiny), await ModelResolver.ResolveAsync(Tiny, Options()));
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task DownloadFollowsRedirectIntoPythonCacheLayout()
    {
        _hub.WithRepo(Repo, Tiny);
        long reported = 0;
        string folder = await ModelResolver.ResolveAsync(Repo, Options(), new InlineProgress(n => reported = n));

        Assert.Equal(Path.Combine(RepoDir, "snapshots", FakeHub.Commit), folder);
        Assert.Equal(FakeHub.Commit, File.ReadAllText(Path.Combine(RepoDir, "refs", "main")));
        string sha = FakeHub.Sha256(Path.Combine(Tiny, "model.safetensors"));
        Assert.True(File.Exists(Path.Combine(RepoDir, "blobs", sha)), "the LFS blob is named by its sha256 (X-Linked-Etag)");
        var link = new FileInfo(Path.Combine(folder, "model.safetensors"));
        Assert.Equal(Path.Combine("..", "..", "blobs", sha), link.LinkTarget);
        foreach (string file in new[] { "config.json", "preprocessor_config.json", "model.safetensors" })
            AssertSameBytes(Path.Combine(Tiny, file), Path.Combine(folder, file));
        Assert.Equal(1, _hub.Count($"GET /cdn/{Repo}/model.safetensors"));
        Assert.Equal(new[] { "config.json", "preprocessor_config.json", "model.safetensors" }.Sum(f => new FileInfo(Path.Combine(Tiny, f)).Length), reported);
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir, "blobs"), "*.incomplete"));
        Assert.Equal("depth_pro", DepthEstimator.Load(folder).ModelType);

        // A second resolve only asks for metadata.
        int gets = _hub.Count("GET ");
        Assert.Equal(folder, await ModelResolver.ResolveAsync(Repo + "@main", Options()));
        Assert.Equal(gets, _hub.Count("GET "));
    }

    [Fact]
    public async Task CacheWrittenInPythonLayoutIsUsedOffline()
    {
        // As huggingface_hub lays it out: blobs named by ETag, relative symlinks in the snapshot, refs/main holding the commit.
        foreach (string file in new[] { "config.json", "preprocessor_config.json", "model.safetensors" })
        {
            string sha = FakeHub.Sha256(Path.Combine(Tiny, file));
            Directory.CreateDirectory(Path.Combine(RepoDir, "blobs"));
            File.Copy(Path.Combine(Tiny, file), Path.Combine(RepoDir, "blobs", sha));
            Directory.CreateDirectory(Path.Combine(RepoDir, "snapshots", FakeHub.Commit));
            File.CreateSymbolicLink(Path.Combine(RepoDir, "snapshots", FakeHub.Commit, file), $"../../blobs/{sha}");
        }
        Directory.CreateDirectory(Path.Combine(RepoDir, "refs"));
        File.WriteAllText(Path.Combine(RepoDir, "refs", "main"), FakeHub.Commit);

        string folder = await ModelResolver.ResolveAsync(Repo, Options(offline: true));
        Assert.Equal(Path.Combine(RepoDir, "snapshots", FakeHub.Commit), folder);
        Assert.Equal(folder, await ModelResolver.ResolveAsync($"{Repo}@{FakeHub.Commit}", Options(offline: true)));
        Assert.Equal("depth_pro", DepthEstimator.Load(folder).ModelType);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task OfflineWithoutCachedFilesSaysWhatIsMissing()
    {
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, Options(offline: true)));
        Assert.Equal(HubErrorKind.NotCached, e.Kind);
        Assert.Contains(Repo, e.Message);
        Assert.Contains("config.json", e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Empty(_hub.Requests);
    }

    [Fact]
    public async Task PrivateRepoNeedsTheToken()
    {
        _hub.WithRepo(Repo, Tiny, token: "hf_secret");
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, Options()));
        Assert.Equal(HubErrorKind.Unauthorized, e.Kind);
        Assert.Contains("HF_TOKEN", e.Message);
        Assert.Contains(Repo, e.Message);
        Assert.Equal(HubErrorKind.Unauthorized, (await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, Options("wrong")))).Kind);

        string folder = await ModelResolver.ResolveAsync(Repo, Options("hf_secret"));
        AssertSameBytes(Path.Combine(Tiny, "model.safetensors"), Path.Combine(folder, "model.safetensors"));
    }

    [Theory]
    [InlineData("apple/missing", HubErrorKind.RepoNotFound, "apple/missing")]
    [InlineData(Repo + "@v9", HubErrorKind.RevisionNotFound, "v9")]
    public async Task NotFoundNamesTheRepoOrRevision(string model, HubErrorKind kind, string named)
    {
        _hub.WithRepo(Repo, Tiny);
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(model, Options()));
        Assert.Equal(kind, e.Kind);
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public async Task MissingFileIsNamed()
    {
        _hub.WithRepo(Repo, Tiny);
        var e = await Assert.ThrowsAsync<HubException>(() => new HubClient(Options()).DownloadAsync(HubModelId.Parse(Repo), "tokenizer.json"));
        Assert.Equal(HubErrorKind.FileNotFound, e.Kind);
        Assert.Contains("tokenizer.json", e.Message);
        foreach (string escape in new[] { "../../etc/passwd", "a/../../b", "/etc/passwd", "a\\..\\b" })
            Assert.Equal(HubErrorKind.FileNotFound, (await Assert.ThrowsAsync<HubException>(() => new HubClient(Options()).DownloadAsync(HubModelId.Parse(Repo), escape))).Kind);
    }

    [Fact]
    public async Task CutDownloadKeepsThePartialAndResumesWithRange()
    {
        _hub.WithRepo(Repo, Tiny);
        _hub.CutOnce["model.safetensors"] = true;
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, Options()));
        Assert.Equal(HubErrorKind.Transfer, e.Kind);
        Assert.Contains("model.safetensors", e.Message);
        string sha = FakeHub.Sha256(Path.Combine(Tiny, "model.safetensors"));
        string partial = Path.Combine(RepoDir, "blobs", sha + ".incomplete");
        long kept = new FileInfo(partial).Length;
        Assert.InRange(kept, 1, new FileInfo(Path.Combine(Tiny, "model.safetensors")).Length - 1);
        Assert.False(File.Exists(Path.Combine(RepoDir, "blobs", sha)));

        string folder = await ModelResolver.ResolveAsync(Repo, Options());
        Assert.Contains($"GET /cdn/{Repo}/model.safetensors bytes={kept}-", _hub.Requests);
        Assert.Equal(sha, FakeHub.Sha256(Path.Combine(folder, "model.safetensors")));
        Assert.False(File.Exists(partial));
    }

    [Fact]
    public async Task PartialThatCannotBeContinuedStartsOver()
    {
        _hub.WithRepo(Repo, Tiny);
        string model = Path.Combine(Tiny, "model.safetensors"), sha = FakeHub.Sha256(model);
        Directory.CreateDirectory(Path.Combine(RepoDir, "blobs"));
        File.WriteAllBytes(Path.Combine(RepoDir, "blobs", sha + ".incomplete"), new byte[new FileInfo(model).Length + 1]);
        string folder = await ModelResolver.ResolveAsync(Repo, Options());
        Assert.Equal(sha, FakeHub.Sha256(Path.Combine(folder, "model.safetensors")));
    }

    [Fact]
    public async Task WrongSha256IsRefused()
    {
        _hub.WithRepo(Repo, Tiny);
        _hub.WrongSha256 = new string('a', 64);
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync(Repo, Options()));
        Assert.Equal(HubErrorKind.Integrity, e.Kind);
        Assert.Contains("model.safetensors", e.Message);
        Assert.False(File.Exists(Path.Combine(RepoDir, "blobs", _hub.WrongSha256)));
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoDir, "blobs"), "*.incomplete"));
        Assert.False(File.Exists(Path.Combine(RepoDir, "snapshots", FakeHub.Commit, "model.safetensors")));
    }

    [Fact]
    public async Task ConcurrentDownloadsOfOneFileMakeOneBlob()
    {
        _hub.WithRepo(Repo, Tiny);
        _hub.ChunkDelay = TimeSpan.FromMilliseconds(20);
        var id = HubModelId.Parse(Repo);
        var downloads = Enumerable.Range(0, 2).Select(_ => Task.Run(() => new HubClient(Options()).DownloadAsync(id, "model.safetensors"))).ToArray();
        string[] paths = await Task.WhenAll(downloads);
        Assert.Equal(paths[0], paths[1]);
        string sha = FakeHub.Sha256(Path.Combine(Tiny, "model.safetensors"));
        Assert.Equal(sha, FakeHub.Sha256(paths[0]));
        Assert.Equal(1, _hub.Count($"GET /cdn/{Repo}/model.safetensors"));
        Assert.Equal([sha, sha + ".lock"], Directory.GetFiles(Path.Combine(RepoDir, "blobs")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task HeldLockTimesOutNamingTheFile()
    {
        _hub.WithRepo(Repo, Tiny);
        string sha = FakeHub.Sha256(Path.Combine(Tiny, "model.safetensors"));
        Directory.CreateDirectory(Path.Combine(RepoDir, "blobs"));
        using var held = new FileStream(Path.Combine(RepoDir, "blobs", sha + ".lock"), FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var client = new HubClient(Options() with { LockTimeout = TimeSpan.FromMilliseconds(300) });
        var e = await Assert.ThrowsAsync<HubException>(() => client.DownloadAsync(HubModelId.Parse(Repo), "model.safetensors"));
        Assert.Equal(HubErrorKind.Locked, e.Kind);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public async Task UnreachableHubFallsBackToTheCache()
    {
        _hub.WithRepo(Repo, Tiny);
        string folder = await ModelResolver.ResolveAsync(Repo, Options());
        _hub.Dispose();
        Assert.Equal(folder, await ModelResolver.ResolveAsync(Repo, Options()));
        var e = await Assert.ThrowsAsync<HubException>(() => ModelResolver.ResolveAsync("apple/other", Options()));
        Assert.Equal(HubErrorKind.Transfer, e.Kind);
        Assert.Contains("apple/other", e.Message);
    }

    [Fact]
    public async Task CancelledTokenStopsTheDownload()
    {
        _hub.WithRepo(Repo, Tiny);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ModelResolver.ResolveAsync(Repo, Options(), cancellationToken: new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task ShardedCheckpointIsFetchedThroughItsIndex()
    {
        _hub.WithRepo(Repo, Sharded);
        string folder = await ModelResolver.ResolveAsync(Repo, Options());
        Assert.Single(_hub.Requests, r => r == "HEAD /apple/tiny-depth/resolve/main/model.safetensors");
        foreach (string file in new[] { "model.safetensors.index.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors" })
            AssertSameBytes(Path.Combine(Sharded, file), Path.Combine(folder, file));
        using var checkpoint = Checkpoint.OpenDirectory(folder);
        using var expected = Checkpoint.OpenDirectory(Sharded);
        Assert.Equal(expected.Names.Count, checkpoint.Names.Count);

        // Offline, the cached index and shards are enough.
        Assert.Equal(folder, await ModelResolver.ResolveAsync(Repo, Options(offline: true)));
    }

    private sealed class InlineProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
