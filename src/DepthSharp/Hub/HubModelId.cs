using System.Text.RegularExpressions;

namespace DepthSharp.Hub;

/// <summary>A Hub model repo and revision, written <c>org/name</c> or <c>org/name@revision</c> (revision <c>main</c> when omitted).</summary>
/// <param name="Repo">The repository, <c>org/name</c>.</param>
/// <param name="Revision">A branch, tag or commit hash.</param>
public sealed partial record HubModelId(string Repo, string Revision)
{
    /// <summary>The revision of an id written without one: the repository's main branch.</summary>
    public const string DefaultRevision = "main";

    /// <summary>The id as <c>org/name@revision</c>, which <see cref="Parse"/> reads back.</summary>
    public override string ToString() => $"{Repo}@{Revision}";

    /// <summary>Reads <c>org/name</c> or <c>org/name@revision</c>; false for anything else (including ids with "..").</summary>
    /// <param name="text">The id as the user wrote it.</param>
    /// <param name="id">The id read; an empty one when the text is not an id.</param>
    public static bool TryParse(string text, out HubModelId id)
    {
        var m = IdPattern().Match(text);
        // ".." would let a repo name climb out of its cache folder.
        if (!m.Success || text.Contains("..", StringComparison.Ordinal))
        {
            id = new HubModelId("", "");
            return false;
        }
        id = new HubModelId(m.Groups["repo"].Value, m.Groups["rev"].Success ? m.Groups["rev"].Value : DefaultRevision);
        return true;
    }

    /// <summary>Reads <c>org/name</c> or <c>org/name@revision</c>.</summary>
    /// <param name="text">The id as the user wrote it.</param>
    /// <exception cref="HubException"><see cref="HubErrorKind.InvalidModelId"/>: the text is not a Hub repo id.</exception>
    public static HubModelId Parse(string text) => TryParse(text, out var id) ? id
        : throw new HubException(HubErrorKind.InvalidModelId,
            $"'{text}' is neither an existing model folder nor a Hub repo id (org/name or org/name@revision)");

    [GeneratedRegex(@"^(?<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(@(?<rev>[\w./-]+))?$")]
    private static partial Regex IdPattern();
}
