using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Tensors;

/// <summary>Padding and the windowed attention of Swin-style encoders.</summary>
internal static partial class Ops
{
    /// <summary>x with <paramref name="count"/> zeros appended to dimension <paramref name="dim"/> (F.pad at one dimension's end).</summary>
    public static Tensor PadEnd(Tensor x, int dim, int count)
    {
        dim = dim < 0 ? x.Rank + dim : dim;
        if (dim < 0 || dim >= x.Rank || count < 0) throw new ArgumentException($"cannot pad dim {dim} of {x} by {count}");
        var shape = (int[])x.Shape.Clone();
        shape[dim] += count;
        var y = Tensor.Zeros(shape);
        CopySlice(x, 0, y, 0, dim, x.Shape[dim]);
        return y;
    }

    /// <summary>The padded size of a map side: the next multiple of the window.</summary>
    public static int WholeWindows(int size, int window) => (size + window - 1) / window * window;

    /// <summary>
    /// x [B, H, W, C] → windows [B·(Hp/ws)·(Wp/ws), ws², C]: the map zero-padded on the right and bottom to whole windows
    /// (Hp × Wp), cyclically shifted by −<paramref name="shift"/> on both axes (torch.roll), and cut into windows row by row.
    /// </summary>
    public static Tensor WindowPartition(Tensor x, int window, int shift)
    {
        if (x.Rank != 4 || window < 1 || shift < 0 || shift >= window)
            throw new ArgumentException($"cannot cut {x} into windows of {window} shifted by {shift}");
        int batch = x.Dim(0), height = x.Dim(1), width = x.Dim(2), channels = x.Dim(3);
        int hp = WholeWindows(height, window), wp = WholeWindows(width, window);
        var y = Tensor.Empty(batch * (hp / window) * (wp / window), window * window, channels);
        if (Ref) Reference.WindowPartition(x.Data, batch, height, width, channels, window, shift, y.Data);
        else Fast.WindowPartition(x.Data, batch, height, width, channels, window, shift, y.Data);
        return y;
    }

    /// <summary>The inverse of <see cref="WindowPartition"/>: windows back into a [B, height, width, C] map, shifted back and cropped.</summary>
    public static Tensor WindowMerge(Tensor windows, int window, int height, int width, int shift)
    {
        int perImage = height < 1 || width < 1 || window < 1 ? 0 : WholeWindows(height, window) / window * (WholeWindows(width, window) / window);
        if (windows.Rank != 3 || perImage == 0 || windows.Dim(1) != window * window || windows.Dim(0) % perImage != 0 || shift < 0 || shift >= window)
            throw new ArgumentException($"windows {windows} of {window} shifted by {shift} do not tile a {height}x{width} map");
        int batch = windows.Dim(0) / perImage, channels = windows.Dim(2);
        var y = Tensor.Empty(batch, height, width, channels);
        if (Ref) Reference.WindowMerge(windows.Data, batch, height, width, channels, window, shift, y.Data);
        else Fast.WindowMerge(windows.Data, batch, height, width, channels, window, shift, y.Data);
        return y;
    }

    /// <summary>
    /// Cosine attention within windows (Swin V2), heads interleaved in the last dimension: q, k, v [windows, n, H·D]. The
    /// scores are cos(q_i, k_j) · scales[h] + table[h, index[j·n + i]] (the key-major index shared by every window), plus
    /// <paramref name="maskValue"/> where the tokens' regions differ: regions [R·n] labels window w's tokens by row w mod R
    /// (R windows per image), null for no mask.
    /// </summary>
    public static Tensor WindowAttention(Tensor q, Tensor k, Tensor v, int heads, float[] scales, Tensor table, int[] keyMajorIndex,
        int[]? regions, float maskValue)
    {
        int n = q.Rank == 3 ? q.Dim(1) : 0;
        if (q.Rank != 3 || !q.Shape.AsSpan().SequenceEqual(k.Shape) || !q.Shape.AsSpan().SequenceEqual(v.Shape) || heads < 1 || q.Dim(2) % heads != 0
            || scales.Length != heads || table.Rank != 2 || table.Dim(0) != heads || keyMajorIndex.LongLength != (long)n * n
            || (regions is not null && (n == 0 || regions.Length == 0 || regions.Length % n != 0 || q.Dim(0) % (regions.Length / n) != 0)))
            throw new ArgumentException($"window attention over q{q}, k{k}, v{v} with {heads} heads, {scales.Length} scales, bias table {table}, "
                + $"{keyMajorIndex.Length} indices and {regions?.Length ?? 0} region labels");
        int windows = q.Dim(0), headDim = q.Dim(2) / heads, entries = table.Dim(1);
        var y = Tensor.Empty(q.Shape);
        if (Ref)
            Reference.WindowAttention(q.Data, k.Data, v.Data, windows, n, heads, headDim, scales, table.Data, entries, keyMajorIndex,
                regions, maskValue, y.Data);
        else
            Fast.WindowAttention(q.Data, k.Data, v.Data, windows, n, heads, headDim, scales, table.Data, entries, keyMajorIndex,
                regions, maskValue, y.Data);
        return y;
    }
}
