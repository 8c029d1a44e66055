namespace DepthSharp.Tests;

/// <summary>Locates the shared, read-only fixtures folder that sits beside the repository.</summary>
public static class Fixtures
{
    private static readonly Lazy<string> LazyRoot = new(Find);

    /// <summary>The fixtures directory (…/shared/fixtures).</summary>
    public static string Root => LazyRoot.Value;

    public static string Images => Path.Combine(Root, "images");

    // Walk up from the test binaries: the repo root's sibling (D/../shared/fixtures) or a checkout that holds it (D/shared/fixtures).
    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string inside = Path.Combine(dir.FullName, "shared", "fixtures");
            if (Directory.Exists(inside))
                return inside;
            if (dir.Parent is { } parent)
            {
                string beside = Path.Combine(parent.FullName, "shared", "fixtures");
                if (Directory.Exists(beside))
                    return beside;
            }
        }
        throw new DirectoryNotFoundException($"no shared/fixtures directory above {AppContext.BaseDirectory}");
    }
}
