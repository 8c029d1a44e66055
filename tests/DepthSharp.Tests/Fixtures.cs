namespace DepthSharp.Tests;

/// <summary>Locates ../shared/fixtures beside the repository, from wherever the test binaries run.</summary>
public static class Fixtures
{
    public static string Root { get; } = Find();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { System.IO.Path.Combine(dir.FullName, "..", "shared", "fixtures"), System.IO.Path.Combine(dir.FullName, "shared", "fixtures") })
                if (Directory.Exists(candidate)) return System.IO.Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException($"no shared/fixtures above {AppContext.BaseDirectory}");
    }
}
