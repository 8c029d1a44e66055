namespace DepthSharp.Hub;

/// <summary>Where models come from and where they are cached; <see cref="FromEnvironment()"/> reads the variables Python's huggingface_hub reads.</summary>
public sealed record HubOptions
{
    /// <summary>The public Hugging Face Hub, used when HF_ENDPOINT is not set.</summary>
    public const string DefaultEndpoint = "https://huggingface.co";

    /// <summary>Base URL of the Hub (HF_ENDPOINT); files come from {Endpoint}/{repo}/resolve/{revision}/{file}.</summary>
    public string Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>The hub cache folder holding models--{org}--{name} (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub).</summary>
    public string CacheDir { get; init; } = DefaultCacheDir(Environment.GetEnvironmentVariable);

    /// <summary>Access token for private or gated repos (HF_TOKEN), sent as a bearer token to the endpoint's host only.</summary>
    public string? Token { get; init; }

    /// <summary>Use only the cache, never the network (HF_HUB_OFFLINE=1).</summary>
    public bool Offline { get; init; }

    /// <summary>How long to wait for another process that is downloading the same file.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Options from the process environment as huggingface_hub reads it: HF_ENDPOINT, HF_HUB_CACHE / HF_HOME, HF_TOKEN and
    /// HF_HUB_OFFLINE (1, on, yes or true); unset or blank variables give the defaults.
    /// </summary>
    public static HubOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Options from the given variable lookup (a parameter so that tests need not change the process environment).</summary>
    internal static HubOptions FromEnvironment(Func<string, string?> env) => new()
    {
        Endpoint = (NonEmpty(env("HF_ENDPOINT")) ?? DefaultEndpoint).TrimEnd('/'),
        CacheDir = DefaultCacheDir(env),
        Token = NonEmpty(env("HF_TOKEN")),
        Offline = NonEmpty(env("HF_HUB_OFFLINE"))?.ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE",
    };

    private static string DefaultCacheDir(Func<string, string?> env) =>
        NonEmpty(env("HF_HUB_CACHE")) ?? Path.Combine(
            NonEmpty(env("HF_HOME")) ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "huggingface"),
            "hub");

    private static string? NonEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
