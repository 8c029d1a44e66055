namespace DepthSharp.Models.Configs;

/// <summary>The reference's rules for a backbone's out_features / out_indices against its stage names.</summary>
internal static class BackboneStages
{
    /// <summary>
    /// Indices into <paramref name="names"/> of the stages returned: known, not repeated, in stage order, naming the same
    /// stages when both lists are given; negative indices count from the end; neither list means the last stage.
    /// </summary>
    public static int[] Align(Action<string, string> fail, IReadOnlyList<string> names, List<string>? outFeatures, List<int>? outIndices)
    {
        int[]? fromFeatures = null, fromIndices = null;
        if (outFeatures is not null)
        {
            foreach (var f in outFeatures)
                if (!names.Contains(f)) fail("out_features", $"'{f}' is not a stage ({string.Join(", ", names)})");
            fromFeatures = outFeatures.Select(f => names.ToList().IndexOf(f)).ToArray();
            if (fromFeatures.Distinct().Count() != fromFeatures.Length) fail("out_features", "must not repeat a stage");
            if (!fromFeatures.SequenceEqual(fromFeatures.Order())) fail("out_features", "must be in stage order");
        }
        if (outIndices is not null)
        {
            fromIndices = outIndices.Select(i => i < 0 ? i + names.Count : i).ToArray();
            if (fromIndices.Any(i => i < 0 || i >= names.Count))
                fail("out_indices", $"[{string.Join(", ", outIndices)}] are not all stage indices (0..{names.Count - 1})");
            if (fromIndices.Distinct().Count() != fromIndices.Length) fail("out_indices", "must not repeat a stage");
            if (!fromIndices.SequenceEqual(fromIndices.Order())) fail("out_indices", "must be in stage order");
        }
        if (fromFeatures is not null && fromIndices is not null && !fromFeatures.SequenceEqual(fromIndices))
            fail("out_indices", $"[{string.Join(", ", outIndices!)}] do not name the stages of out_features [{string.Join(", ", outFeatures!)}]");
        return fromFeatures ?? fromIndices ?? [names.Count - 1];
    }
}
