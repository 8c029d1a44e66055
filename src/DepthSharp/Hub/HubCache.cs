using System.Text.RegularExpressions;

namespace DepthSharp.Hub;

/// <summary>
/// The huggingface_hub cache layout, so that Python and DepthSharp share downloads:
/// models--{org}--{name}/blobs/{etag}, snapshots/{commit}/{file} (a relative symlink to the blob) and refs/{revision} (the commit).
/// </summary>
internal static partial class HubCache
{
    public static string RepoDir(string cacheDir, string repo) => Path.Combine(cacheDir, "models--" + repo.Replace("/", "--", StringComparison.Ordinal));

    public static string BlobPath(string repoDir, string etag) => Path.Combine(repoDir, "blobs", etag);

    public static string SnapshotPath(string repoDir, string commit, string file) => Path.Combine(repoDir, "snapshots", commit, file);

    public static bool IsCommitHash(string revision) => CommitPattern().IsMatch(revision);

    /// <summary>The commit a revision points at in the cache: the revision itself when it is a hash, else refs/{revision}.</summary>
    public static string? CachedCommit(string repoDir, string revision)
    {
        if (IsCommitHash(revision)) return revision;
        string refPath = Path.Combine(repoDir, "refs", revision);
        return File.Exists(refPath) ? File.ReadAllText(refPath).Trim() : null;
    }

    /// <summary>The cached file for this revision, or null when it is not there (a dangling symlink counts as absent).</summary>
    public static string? CachedFile(string repoDir, string revision, string file) =>
        CachedCommit(repoDir, revision) is string commit && Usable(SnapshotPath(repoDir, commit, file)) ? SnapshotPath(repoDir, commit, file) : null;

    public static bool Usable(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) return false;
        return info.LinkTarget is null || info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true };
    }

    public static void WriteRef(string repoDir, string revision, string commit)
    {
        if (revision == commit) return;
        string refPath = Path.Combine(repoDir, "refs", revision);
        if (File.Exists(refPath) && File.ReadAllText(refPath).Trim() == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(refPath)!);
        string tmp = $"{refPath}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(tmp, commit);
        File.Move(tmp, refPath, overwrite: true);
    }

    /// <summary>Points snapshots/{commit}/{file} at the blob with a relative symlink as Python does; copies where symlinks are not allowed.</summary>
    public static void Link(string blob, string pointer)
    {
        string dir = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(dir);
        if (Usable(pointer)) return;
        if (File.Exists(pointer) || new FileInfo(pointer).LinkTarget is not null) File.Delete(pointer);
        try
        {
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(dir, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // Another process may have linked it meanwhile; otherwise (no symlink rights, e.g. Windows without developer mode) copy.
            if (Usable(pointer)) return;
            string tmp = $"{pointer}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
            File.Copy(blob, tmp);
            File.Move(tmp, pointer, overwrite: true);
        }
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitPattern();
}
