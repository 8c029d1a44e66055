namespace DepthSharp.Models;

/// <summary>The checks on a prompt's values that the processor and the model share.</summary>
internal static class PromptDepthValues
{
    /// <summary>
    /// The smallest and largest value of one prompt map (rows of <paramref name="width"/> values). A non-finite value is
    /// refused, and so is a constant map: the model divides the prompt by its max − min (the reference gives NaN or ±∞
    /// for it) and scales its output by that range, so a constant prompt carries no depth to fuse.
    /// </summary>
    /// <param name="what">How the message names the map, e.g. "prompt depth 0".</param>
    /// <param name="values">The map's values, row-major.</param>
    /// <param name="width">The map's width.</param>
    /// <param name="fileName">The prompt's file, named in errors; null when none.</param>
    public static (float Min, float Max) Range(ReadOnlySpan<float> values, int width, string? fileName, string what)
    {
        if (values.IsEmpty) throw new PromptDepthException(fileName, $"{what} is empty");
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!float.IsFinite(v))
                throw new PromptDepthException(fileName, $"{what} has a non-finite value ({v}) at row {i / width}, column {i % width}");
            if (v < min) min = v;
            if (v > max) max = v;
        }
        if (min == max)
            throw new PromptDepthException(fileName,
                $"{what} is constant (every value is {min}): the model normalises the prompt by its max − min, so it needs at least two different depths");
        return (min, max);
    }
}
