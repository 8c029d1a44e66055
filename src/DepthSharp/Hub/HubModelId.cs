using System.Text.RegularExpressions;

namespace DepthSharp.Hub;

/// <summary>A Hub model repo and revision, written <c>org/name</c> or <c>org/name@revision</c> (revision <c>main</c> when omitted).</summary>
public sealed partial record HubModelId(string Repo, string Revision)
{
    public const string DefaultRevision = "main";

    public override string ToString() => $"{Repo}@{Revision}";

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

    public static HubModelId Parse(string text) => TryParse(text, out var id) ? id
        : throw new HubException(HubErrorKind.InvalidModelId,
            $"'{text}' is neither an existing model folder nor a Hub repo id (org/name or org/name@revision)");

    [GeneratedRegex(@"^(?<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(@(?<rev>[\w./-]+))?$")]
    private static partial Regex IdPattern();
}
