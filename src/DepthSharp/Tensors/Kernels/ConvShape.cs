namespace DepthSharp.Tensors.Kernels;

/// <summary>Geometry of a 2D convolution over NCHW input with OIHW weights (IOHW for the transposed form).</summary>
internal readonly record struct ConvShape(
    int Batch, int InChannels, int InH, int InW,
    int OutChannels, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadH, int PadW)
{
    public int OutH => (InH + 2 * PadH - KernelH) / StrideH + 1;
    public int OutW => (InW + 2 * PadW - KernelW) / StrideW + 1;

    /// <summary>Output size of the transposed convolution (PyTorch's, with output_padding 0 and dilation 1).</summary>
    public int TransposedOutH => (InH - 1) * StrideH - 2 * PadH + KernelH;
    public int TransposedOutW => (InW - 1) * StrideW - 2 * PadW + KernelW;

    public void Validate(bool transposed)
    {
        if (Batch <= 0 || InChannels <= 0 || InH <= 0 || InW <= 0 || OutChannels <= 0 || KernelH <= 0 || KernelW <= 0
            || StrideH <= 0 || StrideW <= 0 || PadH < 0 || PadW < 0)
            throw new ArgumentException($"invalid convolution geometry {this}");
        int oh = transposed ? TransposedOutH : OutH, ow = transposed ? TransposedOutW : OutW;
        if (oh <= 0 || ow <= 0 || (!transposed && (InH + 2 * PadH < KernelH || InW + 2 * PadW < KernelW)))
            throw new ArgumentException($"convolution {this} has an empty output");
    }
}
