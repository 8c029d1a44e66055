using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// Sizes work done on [B, C, H, W] maps in bands of rows, so that no full-size intermediate is made. A band whose
/// convolutions reach beyond it is read widened by the rows they reach; the rows that its inner edges' false zero padding
/// reached are dropped.
/// </summary>
internal static class RowBands
{
    /// <summary>Bytes of one row of a [B, C, H, W] map, over its batch and channels.</summary>
    public static long RowBytes(Tensor map) => (long)map.Dim(0) * map.Dim(1) * map.Dim(3) * sizeof(float);

    /// <summary>
    /// Rows per band such that a band widened by <paramref name="halo"/> rows in all, at <paramref name="bytesPerRow"/>
    /// each, takes at most <paramref name="budget"/> bytes; at least one, at most <paramref name="height"/>.
    /// </summary>
    public static int Rows(long budget, long bytesPerRow, int halo, int height) => (int)Math.Clamp(budget / bytesPerRow - halo, 1, height);

    /// <summary>
    /// Whether a map of <paramref name="height"/> rows is worth doing in bands of <paramref name="bandRows"/>: band work
    /// keeps about two bands of scratch alive (and then idle in the pool), so a map of fewer than four bands costs little
    /// more memory whole and is done whole.
    /// </summary>
    public static bool Worthwhile(int bandRows, int height) => 4L * bandRows <= height;

    /// <summary>Rows [a, b) widened by <paramref name="halo"/> rows each side, clipped to the map's <paramref name="height"/>.</summary>
    public static (int Start, int End) Widen(int a, int b, int halo, int height) => (Math.Max(0, a - halo), Math.Min(height, b + halo));
}
