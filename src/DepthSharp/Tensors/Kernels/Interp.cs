namespace DepthSharp.Tensors.Kernels;

/// <summary>PyTorch's source-coordinate rules for interpolation (aten/src/ATen/native/UpSample.h), shared by every resize kernel.</summary>
internal static class Interp
{
    /// <summary>The factor mapping output to input coordinates: from the user's scale factor when given, else from the sizes.</summary>
    public static float AreaScale(int inSize, int outSize, bool alignCorners, double? userScale)
    {
        if (alignCorners)
            return outSize > 1 ? (float)(inSize - 1) / (outSize - 1) : 0f;
        return userScale is double s && s > 0 ? (float)(1.0 / s) : (float)inSize / outSize;
    }

    /// <summary>Linear taps and weights for output index <paramref name="dst"/> (source clamped at 0, as PyTorch does for linear modes).</summary>
    public static void Linear(float scale, int dst, int inSize, bool alignCorners, out int i0, out int i1, out float w0, out float w1)
    {
        float src = alignCorners ? scale * dst : MathF.Max(scale * (dst + 0.5f) - 0.5f, 0f);
        i0 = Math.Min((int)src, inSize - 1);
        i1 = i0 < inSize - 1 ? i0 + 1 : i0;
        w1 = MathF.Min(src - i0, 1f);
        w0 = 1f - w1;
    }

    /// <summary>Cubic (A = -0.75) weights for the four taps starting at the returned index minus one; the source is not clamped.</summary>
    public static int Cubic(float scale, int dst, bool alignCorners, Span<float> weights)
    {
        float src = alignCorners ? scale * dst : scale * (dst + 0.5f) - 0.5f;
        int i = (int)MathF.Floor(src);
        float t = src - i;
        const float A = -0.75f;
        float x1 = t + 1f, x2 = t, x3 = 1f - t, x4 = 2f - t;
        weights[0] = ((A * x1 - 5f * A) * x1 + 8f * A) * x1 - 4f * A;
        weights[1] = ((A + 2f) * x2 - (A + 3f)) * x2 * x2 + 1f;
        weights[2] = ((A + 2f) * x3 - (A + 3f)) * x3 * x3 + 1f;
        weights[3] = ((A * x4 - 5f * A) * x4 + 8f * A) * x4 - 4f * A;
        return i;
    }
}
