using DepthSharp.Models;

namespace DepthSharp.Tests.Models;

public sealed class BeitRelativePositionTests
{
    /// <summary>
    /// The index as transformers' BEiT defines it (query-major): for patches, the coordinate differences query − key,
    /// each shifted by its window side − 1, the row difference times (2·width − 1) plus the column difference; the class
    /// token's row (as query) entries − 3, its column (as key) entries − 2, and its own pair entries − 1.
    /// </summary>
    private static int[,] QueryMajorDefinition(int height, int width)
    {
        int tokens = height * width + 1, entries = (2 * height - 1) * (2 * width - 1) + 3;
        var index = new int[tokens, tokens];
        for (int i = 1; i < tokens; i++)
            for (int j = 1; j < tokens; j++)
            {
                int dy = (i - 1) / width - (j - 1) / width + height - 1;
                int dx = (i - 1) % width - (j - 1) % width + width - 1;
                index[i, j] = dy * (2 * width - 1) + dx;
            }
        for (int j = 0; j < tokens; j++) index[0, j] = entries - 3;
        for (int i = 0; i < tokens; i++) index[i, 0] = entries - 2;
        index[0, 0] = entries - 1;
        return index;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    [InlineData(4, 2)]
    [InlineData(5, 7)]
    public void KeyMajorIndexIsTheTransposedReferenceIndex(int height, int width)
    {
        var window = new PatchWindow(height, width);
        var expected = QueryMajorDefinition(height, width);
        var actual = BeitRelativePositionBias.KeyMajorIndex(window);
        int tokens = window.Tokens;
        Assert.Equal(tokens * tokens, actual.Length);
        for (int i = 0; i < tokens; i++)
            for (int j = 0; j < tokens; j++)
                Assert.True(expected[i, j] == actual[j * tokens + i], $"query {i}, key {j}: {actual[j * tokens + i]}, expected {expected[i, j]}");
    }
}
