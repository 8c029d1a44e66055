namespace DepthSharp.Cli;

/// <summary>One picture to process and where its outputs go, relative to the output folder.</summary>
internal sealed record InputPicture(string Path, string RelativeStem)
{
    /// <summary>The path relative to the input root (the folder given, or the file's own folder), as shards hash it.</summary>
    public string RelativePath => RelativeStem + System.IO.Path.GetExtension(Path);
}

/// <summary>Turns the command line's files, folders (recursive, mirrored) and globs into pictures, in a stable order.</summary>
internal static class InputExpander
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg"];

    private static bool IsPicture(string path) => Extensions.Contains(System.IO.Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    public static List<InputPicture> Expand(IEnumerable<string> inputs)
    {
        var pictures = new List<InputPicture>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                // A folder is walked recursively and its tree mirrored under the output folder.
                foreach (var file in Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories).Where(IsPicture).Order(StringComparer.Ordinal))
                {
                    string rel = System.IO.Path.GetRelativePath(input, file);
                    pictures.Add(new InputPicture(file, System.IO.Path.ChangeExtension(rel, null)));
                }
            }
            else if (input.IndexOfAny(['*', '?']) >= 0)
            {
                string dir = System.IO.Path.GetDirectoryName(input) is { Length: > 0 } d ? d : ".";
                string pattern = System.IO.Path.GetFileName(input);
                if (!Directory.Exists(dir)) continue;
                foreach (var file in Directory.EnumerateFiles(dir, pattern).Where(IsPicture).Order(StringComparer.Ordinal))
                    pictures.Add(new InputPicture(file, System.IO.Path.GetFileNameWithoutExtension(file)));
            }
            else
                pictures.Add(new InputPicture(input, System.IO.Path.GetFileNameWithoutExtension(input)));
        }
        return pictures;
    }
}
