namespace DepthSharp.Models.Configs;

/// <summary>Checks shared by the DPT-style necks and heads (DPT, Depth Anything).</summary>
internal static class NeckChecks
{
    public static void Validate(Action<string, string> fail, List<int> neckHiddenSizes, List<double> reassembleFactors, int fusionHiddenSize, int headInIndex)
    {
        if (neckHiddenSizes.Count == 0) fail("neck_hidden_sizes", "must not be empty");
        if (neckHiddenSizes.Any(s => s <= 0)) fail("neck_hidden_sizes", "must be positive");
        if (reassembleFactors.Count != neckHiddenSizes.Count)
            fail("reassemble_factors", $"has {reassembleFactors.Count} entries but neck_hidden_sizes has {neckHiddenSizes.Count}");
        foreach (double f in reassembleFactors)
        {
            // Up-sampling factors become transposed-convolution kernels and down-sampling ones a stride of int(1 / f).
            if (!(f > 0) || !double.IsFinite(f)) fail("reassemble_factors", $"{f} is not a positive factor");
            if (f > 1 && f != Math.Floor(f)) fail("reassemble_factors", $"{f}: factors above 1 must be whole numbers");
            if (f > int.MaxValue || 1 / f > int.MaxValue) fail("reassemble_factors", $"{f} is out of range");
        }
        if (fusionHiddenSize < 2) fail("fusion_hidden_size", $"must be at least 2, got {fusionHiddenSize}");
        if (headInIndex < -neckHiddenSizes.Count || headInIndex >= neckHiddenSizes.Count)
            fail("head_in_index", $"{headInIndex} is not a fusion stage (there are {neckHiddenSizes.Count})");
    }
}
