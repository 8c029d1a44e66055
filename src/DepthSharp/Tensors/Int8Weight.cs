namespace DepthSharp.Tensors;

/// <summary>
/// A linear layer's weight quantised to 8 bits at load, symmetric per output feature: w[o, i] ≈ Values[i, o] · Scales[o]
/// with Values in −127…127 and Scales[o] = max_i |w[o, i]| / 127. A quarter of float32's memory (half of F16's); the GEMM
/// widens and scales it as it packs it, so the arithmetic stays float32 and only the weights' rounding differs.
/// </summary>
internal sealed class Int8Weight
{
    /// <summary>The quantised matrix transposed, [in, out] row-major, so packing reads whole rows.</summary>
    public sbyte[] Values { get; }
    public float[] Scales { get; }
    public int In { get; }
    public int Out { get; }

    private Int8Weight(sbyte[] values, float[] scales, int inF, int outF)
    {
        Values = values;
        Scales = scales;
        In = inF;
        Out = outF;
    }

    /// <summary>Quantises w [out, in] (nn.Linear's layout); w is left as it was.</summary>
    public static Int8Weight Quantize(Tensor w)
    {
        if (w.Rank != 2) throw new ArgumentException($"a linear weight is [out, in], not {w}");
        int outF = w.Dim(0), inF = w.Dim(1);
        var values = GC.AllocateUninitializedArray<sbyte>(checked(inF * outF));
        var scales = new float[outF];
        var data = w.Data;
        for (int o = 0; o < outF; o++)
        {
            var row = data.AsSpan(o * inF, inF);
            float max = MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row));
            if (!float.IsFinite(max)) throw new ArgumentException($"linear weight {w} holds a non-finite value in output row {o}");
            // An all-zero row quantises to zeros with any scale; 0 keeps it exact.
            float scale = max / 127f, inverse = max > 0 ? 127f / max : 0f;
            scales[o] = scale;
            for (int i = 0; i < inF; i++)
                values[(long)i * outF + o] = (sbyte)Math.Clamp(MathF.Round(row[i] * inverse), -127f, 127f);
        }
        LargeAllocationPressure.Note(values.LongLength);
        return new Int8Weight(values, scales, inF, outF);
    }

    /// <summary>The dequantised weight transposed, [in, out]: what the fast path computes with, for the reference kernels.</summary>
    public Tensor ToWeightT()
    {
        var wT = Tensor.Empty(In, Out);
        for (long i = 0; i < In; i++)
            for (int o = 0; o < Out; o++)
                wT.Data[i * Out + o] = Values[i * Out + o] * Scales[o];
        return wT;
    }
}
