using DepthSharp.Tensors.Kernels;

namespace DepthSharp.Tensors;

/// <summary>torch.nn.functional.interpolate's modes that the processors use (align_corners=False).</summary>
public enum InterpolationMode
{
    /// <summary>Bilinear, as torch's "bilinear".</summary>
    Bilinear,

    /// <summary>Bicubic with a = -0.75, as torch's "bicubic".</summary>
    Bicubic,
}

/// <summary>Tensor-level operations; each picks the fast or the reference kernel (<see cref="KernelOptions.ForceReference"/>).</summary>
internal static partial class Ops
{
    private static bool Ref => KernelOptions.ForceReference;

    /// <summary>x[..., in] · wT[in, out] + b[out] by the reference loops, with the layer's weight unpacked or widened into wT, which this releases.</summary>
    private static Tensor ReferenceLinear(Tensor x, Tensor wT, Tensor? b)
    {
        var (rows, y) = LinearOutput(x, wT.Dim(1));
        Reference.LinearWeightT(x.Data, rows, x.Dim(-1), wT.Data, b is null ? default : b.Data, wT.Dim(1), y.Data);
        wT.Release();
        return y;
    }

    /// <summary>The rows of x[..., in] and a new [..., out] tensor for a linear layer's output.</summary>
    private static (int Rows, Tensor Y) LinearOutput(Tensor x, int outF)
    {
        var shape = (int[])x.Shape.Clone();
        shape[^1] = outF;
        return ((int)(x.Length / x.Dim(-1)), Tensor.Empty(shape));
    }

    /// <summary>A linear layer's operands agree: x's last dimension is the weight's input width, the bias as long as its output.</summary>
    private static void RequireLinear(Tensor x, int inF, int outF, Tensor? b, string weight)
    {
        if (x.Dim(-1) != inF) throw new ArgumentException($"linear weight {weight} does not take input {x}");
        if (b is not null && b.Length != outF) throw new ArgumentException($"linear bias {b} does not match weight {weight}");
    }

    /// <summary>x[..., in] · wᵀ + b[out] with the weight packed at load.</summary>
    public static Tensor Linear(Tensor x, PackedWeight w, Tensor? b)
    {
        int inF = x.Dim(-1), outF = w.Out;
        RequireLinear(x, w.In, outF, b, $"[{w.Out}, {w.In}]");
        if (Ref) return ReferenceLinear(x, w.ToWeightT(), b);
        var (rows, y) = LinearOutput(x, outF);
        Fast.LinearPacked(x.Data, rows, inF, w.Packed, b is null ? default : b.Data, outF, y.Data);
        return y;
    }

    /// <summary>x · wT + b with the [in, out] weight kept in its stored 16-bit format; computed in float32.</summary>
    public static Tensor LinearWeightT(Tensor x, HalfTensor wT, Tensor? b)
    {
        if (wT.Rank != 2) throw new ArgumentException($"a transposed linear weight is [in, out], not {wT}");
        int inF = x.Dim(-1), outF = wT.Dim(1);
        RequireLinear(x, wT.Dim(0), outF, b, $"{wT} (transposed)");
        if (Ref) return ReferenceLinear(x, wT.ToFloat(), b);
        var (rows, y) = LinearOutput(x, outF);
        Fast.LinearWeightT(x.Data, rows, inF, wT.Bits, wT.Kind, b is null ? default : b.Data, outF, y.Data);
        return y;
    }

    /// <summary>x · wᵀ + b with the weight quantised to 8 bits per output feature (<see cref="Int8Weight"/>); computed in float32.</summary>
    public static Tensor LinearInt8(Tensor x, Int8Weight w, Tensor? b)
    {
        int inF = x.Dim(-1), outF = w.Out;
        RequireLinear(x, w.In, outF, b, $"[{w.Out}, {w.In}] (8-bit)");
        if (Ref) return ReferenceLinear(x, w.ToWeightT(), b);
        var (rows, y) = LinearOutput(x, outF);
        Fast.LinearInt8(x.Data, rows, inF, w.Values, w.Scales, b is null ? default : b.Data, outF, y.Data);
        return y;
    }

    /// <summary>conv2d over x[B,C,H,W] with w[O,C,KH,KW] and zero padding.</summary>
    /// <param name="x">Input [B, C, H, W].</param>
    /// <param name="w">Kernel [O, C, KH, KW].</param>
    /// <param name="b">Bias [O], or null.</param>
    /// <param name="stride">Stride in both directions.</param>
    /// <param name="padding">Zero padding on every side.</param>
    /// <param name="reluInput">Convolve relu(x) instead of x, without making relu(x).</param>
    /// <param name="addTo">Add the result into this tensor (which is returned) instead of a new one.</param>
    public static Tensor Conv2d(Tensor x, Tensor w, Tensor? b, int stride = 1, int padding = 0, bool reluInput = false, Tensor? addTo = null)
    {
        if (x.Rank != 4 || w.Rank != 4 || w.Dim(1) != x.Dim(1))
            throw new ArgumentException($"conv2d weight {w} does not take input {x}");
        var s = new ConvShape(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), w.Dim(0), w.Dim(2), w.Dim(3), stride, stride, padding, padding);
        s.Validate(transposed: false);
        if (b is not null && b.Length != s.OutChannels) throw new ArgumentException($"conv2d bias {b} does not match weight {w}");
        int[] outShape = [s.Batch, s.OutChannels, s.OutH, s.OutW];
        if (addTo is not null && !addTo.Shape.AsSpan().SequenceEqual(outShape))
            throw new ArgumentException($"conv2d output [{string.Join(", ", outShape)}] cannot be added to {addTo}");
        ReadOnlySpan<float> bias = b is null ? default : b.Data;
        if (Ref)
        {
            // The plain loops take the long way: relu(x) and the sum made separately.
            var input = reluInput ? Relu(x) : x;
            var y = Tensor.Empty(outShape);
            Reference.Conv2d(s, input.Data, w.Data, bias, y.Data);
            if (reluInput) input.Release();
            if (addTo is null) return y;
            AddInPlace(addTo, y);
            y.Release();
            return addTo;
        }
        var output = addTo ?? Tensor.Empty(outShape);
        Fast.Conv2d(s, x.Data, w.Data, bias, output.Data, reluInput, accumulate: addTo is not null);
        return output;
    }

    /// <summary>
    /// conv2d with groups over x[B,C,H,W] with w[O, C/groups, KH, KW] and zero padding: output channel o reads only the
    /// input channels of group o / (O/groups); groups = C is a depthwise convolution. With <paramref name="channelsLast"/>
    /// the maps are x[B,H,W,C] and y[B,OH,OW,O] (a token sequence of an H × W map, convolved where it lies).
    /// </summary>
    public static Tensor GroupedConv2d(Tensor x, Tensor w, Tensor? b, int groups, int stride = 1, int padding = 0, bool channelsLast = false)
    {
        if (x.Rank != 4 || w.Rank != 4) throw new ArgumentException($"conv2d weight {w} does not take input {x}");
        int c = channelsLast ? x.Dim(3) : x.Dim(1), h = channelsLast ? x.Dim(1) : x.Dim(2), width = channelsLast ? x.Dim(2) : x.Dim(3);
        if (groups <= 0 || c % groups != 0 || w.Dim(0) % groups != 0 || w.Dim(1) * groups != c)
            throw new ArgumentException($"conv2d weight {w} in {groups} groups does not take input {x}{(channelsLast ? " (channels last)" : "")}");
        var s = new ConvShape(x.Dim(0), c, h, width, w.Dim(0), w.Dim(2), w.Dim(3), stride, stride, padding, padding);
        s.Validate(transposed: false);
        if (b is not null && b.Length != s.OutChannels) throw new ArgumentException($"conv2d bias {b} does not match weight {w}");
        var y = channelsLast ? Tensor.Empty(s.Batch, s.OutH, s.OutW, s.OutChannels) : Tensor.Empty(s.Batch, s.OutChannels, s.OutH, s.OutW);
        ReadOnlySpan<float> bias = b is null ? default : b.Data;
        if (Ref) Reference.GroupedConv2d(s, groups, channelsLast, x.Data, w.Data, bias, y.Data);
        else Fast.GroupedConv2d(s, groups, channelsLast, x.Data, w.Data, bias, y.Data);
        return y;
    }

    /// <summary>conv_transpose2d over x[B,C,H,W] with w[C,O,KH,KW].</summary>
    public static Tensor ConvTranspose2d(Tensor x, Tensor w, Tensor? b, int stride, int padding = 0)
    {
        if (x.Rank != 4 || w.Rank != 4 || w.Dim(0) != x.Dim(1))
            throw new ArgumentException($"conv_transpose2d weight {w} does not take input {x}");
        var s = new ConvShape(x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3), w.Dim(1), w.Dim(2), w.Dim(3), stride, stride, padding, padding);
        s.Validate(transposed: true);
        if (b is not null && b.Length != s.OutChannels) throw new ArgumentException($"conv_transpose2d bias {b} does not match weight {w}");
        var y = Tensor.Empty(s.Batch, s.OutChannels, s.TransposedOutH, s.TransposedOutW);
        ReadOnlySpan<float> bias = b is null ? default : b.Data;
        if (Ref) Reference.ConvTranspose2d(s, x.Data, w.Data, bias, y.Data);
        else Fast.ConvTranspose2d(s, x.Data, w.Data, bias, y.Data);
        return y;
    }

    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps)
    {
        int dim = x.Dim(-1);
        if (gamma.Length != dim || beta.Length != dim) throw new ArgumentException($"layer norm of size {gamma.Length} on {x}");
        var y = Tensor.Empty(x.Shape);
        int rows = (int)(x.Length / dim);
        if (Ref) Reference.LayerNorm(x.Data, rows, dim, gamma.Data, beta.Data, eps, y.Data);
        else Fast.LayerNorm(x.Data, rows, dim, gamma.Data, beta.Data, eps, y.Data);
        return y;
    }

    /// <summary>Inference batch norm over x[B,C,H,W] with running statistics.</summary>
    public static Tensor BatchNorm(Tensor x, Tensor mean, Tensor variance, Tensor gamma, Tensor beta, float eps)
    {
        int c = x.Dim(1);
        var y = Tensor.Empty(x.Shape);
        int plane = (int)(x.Length / x.Dim(0) / c);
        if (Ref) Reference.BatchNorm(x.Data, x.Dim(0), c, plane, mean.Data, variance.Data, gamma.Data, beta.Data, eps, y.Data);
        else Fast.BatchNorm(x.Data, x.Dim(0), c, plane, mean.Data, variance.Data, gamma.Data, beta.Data, eps, y.Data);
        return y;
    }

    public static Tensor Gelu(Tensor x)
    {
        var y = Tensor.Empty(x.Shape);
        if (Ref) Reference.Gelu(x.Data, y.Data); else Fast.Gelu(x.Data, y.Data);
        return y;
    }

    public static Tensor Relu(Tensor x)
    {
        var y = Tensor.Empty(x.Shape);
        if (Ref) Reference.Relu(x.Data, y.Data); else Fast.Relu(x.Data, y.Data);
        return y;
    }

    /// <summary>ReLU that overwrites its input, for maps nothing else reads.</summary>
    public static Tensor ReluInPlace(Tensor x)
    {
        if (Ref) Reference.Relu(x.Data, x.Data); else Fast.Relu(x.Data, x.Data);
        return x;
    }

    public static Tensor SiluInPlace(Tensor x)
    {
        if (Ref) Reference.Silu(x.Data, x.Data); else Fast.Silu(x.Data, x.Data);
        return x;
    }

    public static Tensor GeluInPlace(Tensor x)
    {
        if (Ref) Reference.Gelu(x.Data, x.Data); else Fast.Gelu(x.Data, x.Data);
        return x;
    }

    /// <summary>Logistic sigmoid, overwriting its input (for maps nothing else reads).</summary>
    public static Tensor SigmoidInPlace(Tensor x)
    {
        if (Ref) Reference.Sigmoid(x.Data, x.Data); else Fast.Sigmoid(x.Data, x.Data);
        return x;
    }

    /// <summary>x · s in place.</summary>
    public static Tensor ScaleInPlace(Tensor x, float s)
    {
        System.Numerics.Tensors.TensorPrimitives.Multiply(x.Data, s, x.Data);
        return x;
    }

    /// <summary>Softmax over the last dimension.</summary>
    public static Tensor Softmax(Tensor x)
    {
        int n = x.Dim(-1);
        var y = Tensor.Empty(x.Shape);
        if (Ref) Reference.Softmax(x.Data, (int)(x.Length / n), n, y.Data);
        else Fast.Softmax(x.Data, (int)(x.Length / n), n, y.Data);
        return y;
    }

    /// <summary>Scaled dot-product attention with heads interleaved in the last dimension: q[B,Nq,H·D], k,v[B,Nk,H·D].</summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, float scale)
    {
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3 || q.Dim(2) % heads != 0 || k.Dim(2) != q.Dim(2) || v.Dim(2) != q.Dim(2)
            || k.Dim(1) != v.Dim(1) || k.Dim(0) != q.Dim(0) || v.Dim(0) != q.Dim(0))
            throw new ArgumentException($"attention over q{q}, k{k}, v{v} with {heads} heads");
        int batch = q.Dim(0), nq = q.Dim(1), nk = k.Dim(1), headDim = q.Dim(2) / heads;
        var y = Tensor.Empty(q.Shape);
        if (Ref) Reference.Attention(q.Data, k.Data, v.Data, batch, nq, nk, heads, headDim, scale, y.Data);
        else Fast.Attention(q.Data, k.Data, v.Data, batch, nq, nk, heads, headDim, scale, y.Data);
        return y;
    }

    /// <summary>
    /// <see cref="Attention(Tensor, Tensor, Tensor, int, float)"/> with a relative position bias added to the scaled scores before the softmax, the same for
    /// every batch element: bias[h, i, j] = table[h, index[j, i]], with table [H, entries] and the index key-major
    /// [Nk, Nq]. Gathering it as the scores are made costs no [H, Nq, Nk] tensor.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, int heads, float scale, Tensor table, int[] keyMajorIndex)
    {
        if (q.Rank != 3 || k.Rank != 3 || v.Rank != 3 || q.Dim(2) % heads != 0 || k.Dim(2) != q.Dim(2) || v.Dim(2) != q.Dim(2)
            || k.Dim(1) != v.Dim(1) || k.Dim(0) != q.Dim(0) || v.Dim(0) != q.Dim(0)
            || table.Rank != 2 || table.Dim(0) != heads || keyMajorIndex.LongLength != (long)q.Dim(1) * k.Dim(1))
            throw new ArgumentException($"attention over q{q}, k{k}, v{v} with {heads} heads, bias table {table} and {keyMajorIndex.Length} indices");
        int batch = q.Dim(0), nq = q.Dim(1), nk = k.Dim(1), headDim = q.Dim(2) / heads, entries = table.Dim(1);
        var y = Tensor.Empty(q.Shape);
        if (Ref) Reference.AttentionWithBias(q.Data, k.Data, v.Data, table.Data, entries, keyMajorIndex, batch, nq, nk, heads, headDim, scale, y.Data);
        else Fast.AttentionWithBias(q.Data, k.Data, v.Data, table.Data, entries, keyMajorIndex, batch, nq, nk, heads, headDim, scale, y.Data);
        return y;
    }

    /// <summary>A copy reversed along the last dimension (torch.flip(x, dims=[-1])).</summary>
    public static Tensor FlipLastDim(Tensor x)
    {
        int n = x.Dim(-1);
        var y = Tensor.Empty(x.Shape);
        for (long off = 0; off < x.Length; off += n)
        {
            x.Data.AsSpan((int)off, n).CopyTo(y.Data.AsSpan((int)off, n));
            y.Data.AsSpan((int)off, n).Reverse();
        }
        return y;
    }

    /// <summary>
    /// F.interpolate on x[..., H, W] to (outH, outW). Pass the scale factors when the caller gave scale_factor, so that the
    /// coordinate mapping uses them as PyTorch does.
    /// </summary>
    public static Tensor Interpolate(Tensor x, int outH, int outW, InterpolationMode mode, bool alignCorners,
        double? scaleH = null, double? scaleW = null)
    {
        if (x.Rank < 2 || outH <= 0 || outW <= 0) throw new ArgumentException($"cannot resize {x} to {outH}x{outW}");
        int inH = x.Dim(-2), inW = x.Dim(-1);
        int planes = (int)(x.Length / ((long)inH * inW));
        var shape = (int[])x.Shape.Clone();
        shape[^2] = outH;
        shape[^1] = outW;
        var y = Tensor.Empty(shape);
        if (mode == InterpolationMode.Bilinear)
        {
            if (Ref) Reference.ResizeBilinear(x.Data, planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, y.Data);
            else Fast.ResizeBilinear(x.Data, planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, y.Data);
        }
        else
        {
            if (Ref) Reference.ResizeBicubic(x.Data, planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, y.Data);
            else Fast.ResizeBicubic(x.Data, planes, inH, inW, outH, outW, alignCorners, scaleH, scaleW, y.Data);
        }
        return y;
    }

    /// <summary>F.interpolate with scale_factor: output size floor(in · scale), coordinates mapped by 1/scale.</summary>
    public static Tensor Interpolate(Tensor x, double scale, InterpolationMode mode, bool alignCorners)
    {
        int outH = (int)Math.Floor(x.Dim(-2) * scale), outW = (int)Math.Floor(x.Dim(-1) * scale);
        return Interpolate(x, outH, outW, mode, alignCorners, scale, scale);
    }

    /// <summary>Element-wise a + b of equal shapes.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        RequireSameShape(a, b, "add");
        var y = Tensor.Empty(a.Shape);
        System.Numerics.Tensors.TensorPrimitives.Add(a.Data, b.Data, y.Data);
        return y;
    }

    /// <summary>a += b in place, equal shapes.</summary>
    public static void AddInPlace(Tensor a, Tensor b)
    {
        RequireSameShape(a, b, "add");
        if (Ref) Reference.AddInPlace(a.Data, b.Data); else Fast.AddInPlace(a.Data, b.Data);
    }

    /// <summary>x[..., n] ← x · v[n] + residual (a layer scale and its skip connection), in place; returns x.</summary>
    public static Tensor ScaleLastDimAddInPlace(Tensor x, Tensor v, Tensor residual)
    {
        RequireSameShape(x, residual, "scale and add");
        int n = x.Dim(-1);
        if (v.Length != n) throw new ArgumentException($"cannot scale {x} by {v}");
        if (Ref) Reference.ScaleLastDimAdd(x.Data, n, v.Data, residual.Data);
        else Fast.ScaleLastDimAdd(x.Data, n, v.Data, residual.Data);
        return x;
    }

    /// <summary>Element-wise product of equal shapes.</summary>
    public static Tensor Mul(Tensor a, Tensor b)
    {
        RequireSameShape(a, b, "multiply");
        var y = Tensor.Empty(a.Shape);
        System.Numerics.Tensors.TensorPrimitives.Multiply(a.Data, b.Data, y.Data);
        return y;
    }

    private static void RequireSameShape(Tensor a, Tensor b, string what)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new ArgumentException($"cannot {what} {a} and {b}");
    }

    /// <summary>Concatenation along <paramref name="dim"/>.</summary>
    public static Tensor Concat(int dim, params Tensor[] parts)
    {
        if (parts.Length == 0) throw new ArgumentException("nothing to concatenate");
        int rank = parts[0].Rank;
        dim = dim < 0 ? rank + dim : dim;
        var shape = (int[])parts[0].Shape.Clone();
        shape[dim] = 0;
        foreach (var p in parts)
        {
            for (int i = 0; i < rank; i++)
                if (i != dim && p.Shape[i] != parts[0].Shape[i]) throw new ArgumentException($"cannot concatenate {parts[0]} and {p} on dim {dim}");
            shape[dim] += p.Shape[dim];
        }
        long outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < rank; i++) inner *= shape[i];
        var y = Tensor.Empty(shape);
        long rowOut = shape[dim] * inner, offset = 0;
        foreach (var p in parts)
        {
            long chunk = p.Shape[dim] * inner;
            for (long o = 0; o < outer; o++)
                Array.Copy(p.Data, o * chunk, y.Data, o * rowOut + offset, chunk);
            offset += chunk;
        }
        return y;
    }

    /// <summary>The slice [start, start + length) of dimension <paramref name="dim"/>, copied.</summary>
    public static Tensor Narrow(Tensor x, int dim, int start, int length)
    {
        dim = dim < 0 ? x.Rank + dim : dim;
        if (start < 0 || length < 0 || start + length > x.Shape[dim]) throw new ArgumentException($"slice {start}+{length} of dim {dim} of {x}");
        var shape = (int[])x.Shape.Clone();
        shape[dim] = length;
        long outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= x.Shape[i];
        for (int i = dim + 1; i < x.Rank; i++) inner *= x.Shape[i];
        var y = Tensor.Empty(shape);
        for (long o = 0; o < outer; o++)
            Array.Copy(x.Data, (o * x.Shape[dim] + start) * inner, y.Data, o * length * inner, length * inner);
        return y;
    }

    /// <summary>
    /// Writes the slice [srcStart, srcStart + length) of <paramref name="src"/>'s dimension <paramref name="dim"/> over the
    /// slice from <paramref name="dstStart"/> of <paramref name="dst"/>'s (other dimensions equal): a band of rows put back.
    /// </summary>
    public static void CopySlice(Tensor src, int srcStart, Tensor dst, int dstStart, int dim, int length)
    {
        var (outer, inner) = SliceGeometry(src, srcStart, dst, dstStart, ref dim, length, "copy");
        for (long o = 0; o < outer; o++)
            Array.Copy(src.Data, (o * src.Shape[dim] + srcStart) * inner, dst.Data, (o * dst.Shape[dim] + dstStart) * inner, length * inner);
    }

    /// <summary>As <see cref="CopySlice"/>, but the slice of <paramref name="src"/> is added into that of <paramref name="dst"/>.</summary>
    public static void AddSliceInPlace(Tensor src, int srcStart, Tensor dst, int dstStart, int dim, int length)
    {
        var (outer, inner) = SliceGeometry(src, srcStart, dst, dstStart, ref dim, length, "add");
        int chunk = (int)(length * inner);
        for (long o = 0; o < outer; o++)
        {
            var to = dst.Data.AsSpan((int)((o * dst.Shape[dim] + dstStart) * inner), chunk);
            System.Numerics.Tensors.TensorPrimitives.Add(to, src.Data.AsSpan((int)((o * src.Shape[dim] + srcStart) * inner), chunk), to);
        }
    }

    /// <summary>Checks two slices of one dimension against their tensors; returns the counts of elements before and after it.</summary>
    private static (long Outer, long Inner) SliceGeometry(Tensor src, int srcStart, Tensor dst, int dstStart, ref int dim, int length, string what)
    {
        dim = dim < 0 ? src.Rank + dim : dim;
        bool fits = src.Rank == dst.Rank && dim >= 0 && dim < src.Rank && length >= 0
            && srcStart >= 0 && srcStart + length <= src.Shape[dim] && dstStart >= 0 && dstStart + length <= dst.Shape[dim];
        for (int i = 0; fits && i < src.Rank; i++) fits = i == dim || src.Shape[i] == dst.Shape[i];
        if (!fits) throw new ArgumentException($"cannot {what} slice {srcStart}+{length} of dim {dim} of {src} to {dstStart} of {dst}");
        long outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= src.Shape[i];
        for (int i = dim + 1; i < src.Rank; i++) inner *= src.Shape[i];
        return (outer, inner);
    }

    /// <summary>Splits dimension <paramref name="dim"/> into consecutive pieces of the given sizes (torch.split_with_sizes).</summary>
    public static Tensor[] Split(Tensor x, int dim, params int[] sizes)
    {
        if (sizes.Sum() != x.Dim(dim)) throw new ArgumentException($"sizes [{string.Join(", ", sizes)}] do not add up to dim {dim} of {x}");
        var parts = new Tensor[sizes.Length];
        int start = 0;
        for (int i = 0; i < sizes.Length; i++) { parts[i] = Narrow(x, dim, start, sizes[i]); start += sizes[i]; }
        return parts;
    }

    /// <summary>A copy with dimensions reordered: output dim i is input dim perm[i].</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        int rank = x.Rank;
        if (perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
            throw new ArgumentException($"bad permutation [{string.Join(", ", perm)}] of {x}");
        var outShape = new int[rank];
        for (int i = 0; i < rank; i++) outShape[i] = x.Shape[perm[i]];
        var y = Tensor.Empty(outShape);
        if (y.Length == 0) return y;
        if (Ref) Reference.Permute(x.Data, x.Shape, perm, y.Data);
        else Fast.Permute(x.Data, x.Shape, perm, y.Data);
        return y;
    }

    /// <summary>
    /// F.unfold for x[B,C,H,W] with a square kernel and stride, no padding: → [B, C·k·k, L], L = blocks row-major.
    /// </summary>
    public static Tensor Unfold(Tensor x, int kernel, int stride)
    {
        int b = x.Dim(0), c = x.Dim(1), h = x.Dim(2), w = x.Dim(3);
        if (kernel <= 0 || stride <= 0 || kernel > h || kernel > w) throw new ArgumentException($"cannot unfold {x} with kernel {kernel}, stride {stride}");
        int nh = (h - kernel) / stride + 1, nw = (w - kernel) / stride + 1;
        var y = Tensor.Empty(b, c * kernel * kernel, nh * nw);
        if (Ref) Reference.Unfold(x.Data, b, c, h, w, kernel, stride, y.Data);
        else Fast.Unfold(x.Data, b, c, h, w, kernel, stride, y.Data);
        return y;
    }
}
