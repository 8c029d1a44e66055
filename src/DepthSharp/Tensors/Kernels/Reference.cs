namespace DepthSharp.Tensors.Kernels;

/// <summary>
/// Plain loop versions of every kernel: the definition the fast versions are tested against.
/// Layouts are row-major; shapes are given in the comments as [dims].
/// </summary>
internal static partial class Reference
{
    /// <summary>C[m,n] (+)= op(A)[m,k] · op(B)[k,n]. op(A)[i,p] = transA ? a[p*lda+i] : a[i*lda+p]; likewise B.</summary>
    public static void Gemm(int m, int n, int k, ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float av = transA ? a[p * lda + i] : a[i * lda + p];
                    float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum;
            }
    }

    /// <summary>y = x with dimensions reordered (output dim i is input dim perm[i]); both contiguous, row-major.</summary>
    public static void Permute(ReadOnlySpan<float> x, int[] shape, int[] perm, Span<float> y)
    {
        int rank = shape.Length;
        var inStrides = new long[rank];
        long st = 1;
        for (int i = rank - 1; i >= 0; i--) { inStrides[i] = st; st *= shape[i]; }
        var outShape = new int[rank];
        for (int i = 0; i < rank; i++) outShape[i] = shape[perm[i]];
        var idx = new int[rank];
        for (long o = 0; o < y.Length; o++)
        {
            long src = 0;
            for (int i = 0; i < rank; i++) src += idx[i] * inStrides[perm[i]];
            y[(int)o] = x[(int)src];
            for (int i = rank - 1; i >= 0; i--)
            {
                if (++idx[i] < outShape[i]) break;
                idx[i] = 0;
            }
        }
    }

    /// <summary>F.unfold, no padding: x[B,C,H,W] → y[B, C·k·k, L]; row (c, ky, kx), column = block index (row-major).</summary>
    public static void Unfold(ReadOnlySpan<float> x, int batch, int channels, int h, int w, int kernel, int stride, Span<float> y)
    {
        int nh = (h - kernel) / stride + 1, nw = (w - kernel) / stride + 1, blocks = nh * nw;
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int ky = 0; ky < kernel; ky++)
                    for (int kx = 0; kx < kernel; kx++)
                        for (int by = 0; by < nh; by++)
                            for (int bx = 0; bx < nw; bx++)
                                y[(((b * channels + c) * kernel + ky) * kernel + kx) * blocks + by * nw + bx] =
                                    x[((b * channels + c) * h + by * stride + ky) * w + bx * stride + kx];
    }

    /// <summary>y[rows,outF] = x[rows,inF] · wT[inF,outF] + bias[outF] (bias may be empty).</summary>
    public static void LinearWeightT(ReadOnlySpan<float> x, int rows, int inF, ReadOnlySpan<float> wT, ReadOnlySpan<float> bias, int outF, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                float sum = bias.IsEmpty ? 0f : bias[o];
                for (int i = 0; i < inF; i++) sum += x[r * inF + i] * wT[i * outF + o];
                y[r * outF + o] = sum;
            }
    }

    /// <summary>y[B,Cout,OH,OW] = conv(x[B,Cin,H,W], w[Cout,Cin,KH,KW]) + bias[Cout], zero padding.</summary>
    public static void Conv2d(ConvShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        int oh = s.OutH, ow = s.OutW;
        for (int b = 0; b < s.Batch; b++)
            for (int o = 0; o < s.OutChannels; o++)
                for (int yy = 0; yy < oh; yy++)
                    for (int xx = 0; xx < ow; xx++)
                    {
                        float sum = bias.IsEmpty ? 0f : bias[o];
                        for (int c = 0; c < s.InChannels; c++)
                            for (int ky = 0; ky < s.KernelH; ky++)
                            {
                                int iy = yy * s.StrideH - s.PadH + ky;
                                if ((uint)iy >= (uint)s.InH) continue;
                                for (int kx = 0; kx < s.KernelW; kx++)
                                {
                                    int ix = xx * s.StrideW - s.PadW + kx;
                                    if ((uint)ix >= (uint)s.InW) continue;
                                    sum += x[((b * s.InChannels + c) * s.InH + iy) * s.InW + ix]
                                         * w[((o * s.InChannels + c) * s.KernelH + ky) * s.KernelW + kx];
                                }
                            }
                        y[((b * s.OutChannels + o) * oh + yy) * ow + xx] = sum;
                    }
    }

    /// <summary>y[B,Cout,OH,OW] = conv_transpose(x[B,Cin,H,W], w[Cin,Cout,KH,KW]) + bias[Cout].</summary>
    public static void ConvTranspose2d(ConvShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y)
    {
        int oh = s.TransposedOutH, ow = s.TransposedOutW;
        for (int b = 0; b < s.Batch; b++)
            for (int o = 0; o < s.OutChannels; o++)
                y.Slice((b * s.OutChannels + o) * oh * ow, oh * ow).Fill(bias.IsEmpty ? 0f : bias[o]);
        for (int b = 0; b < s.Batch; b++)
            for (int c = 0; c < s.InChannels; c++)
                for (int iy = 0; iy < s.InH; iy++)
                    for (int ix = 0; ix < s.InW; ix++)
                    {
                        float v = x[((b * s.InChannels + c) * s.InH + iy) * s.InW + ix];
                        for (int o = 0; o < s.OutChannels; o++)
                            for (int ky = 0; ky < s.KernelH; ky++)
                            {
                                int yy = iy * s.StrideH - s.PadH + ky;
                                if ((uint)yy >= (uint)oh) continue;
                                for (int kx = 0; kx < s.KernelW; kx++)
                                {
                                    int xx = ix * s.StrideW - s.PadW + kx;
                                    if ((uint)xx >= (uint)ow) continue;
                                    y[((b * s.OutChannels + o) * oh + yy) * ow + xx] +=
                                        v * w[((c * s.OutChannels + o) * s.KernelH + ky) * s.KernelW + kx];
                                }
                            }
                    }
    }

    /// <summary>y[rows,dim] = (x - mean) / sqrt(var + eps) · gamma + beta, statistics over the last dimension (biased variance).</summary>
    public static void LayerNorm(ReadOnlySpan<float> x, int rows, int dim, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * dim, dim);
            double mean = 0;
            foreach (float v in row) mean += v;
            mean /= dim;
            double var = 0;
            foreach (float v in row) var += (v - mean) * (v - mean);
            var /= dim;
            float inv = (float)(1.0 / Math.Sqrt(var + eps));
            for (int i = 0; i < dim; i++)
                y[r * dim + i] = (float)(row[i] - mean) * inv * gamma[i] + beta[i];
        }
    }

    /// <summary>Inference batch norm over x[B,C,plane]: (x - mean[c]) / sqrt(var[c] + eps) · gamma[c] + beta[c].</summary>
    public static void BatchNorm(ReadOnlySpan<float> x, int batch, int channels, int plane,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float eps, Span<float> y)
    {
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
            {
                float scale = gamma[c] / MathF.Sqrt(variance[c] + eps);
                for (int i = 0; i < plane; i++)
                {
                    int idx = (b * channels + c) * plane + i;
                    y[idx] = (x[idx] - mean[c]) * scale + beta[c];
                }
            }
    }

    /// <summary>Exact GELU: x · Φ(x) = 0.5 x (1 + erf(x / √2)).</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = (float)(0.5 * x[i] * (1.0 + MathX.Erf(x[i] / Math.Sqrt(2.0))));
    }

    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : 0f;
    }

    /// <summary>a[i] += b[i].</summary>
    public static void AddInPlace(Span<float> a, ReadOnlySpan<float> b)
    {
        for (int i = 0; i < a.Length; i++) a[i] += b[i];
    }

    /// <summary>x[r, c] ← x[r, c] · scale[c] + residual[r, c], rows of dim values.</summary>
    public static void ScaleLastDimAdd(Span<float> x, int dim, ReadOnlySpan<float> scale, ReadOnlySpan<float> residual)
    {
        for (int i = 0; i < x.Length; i++) x[i] = x[i] * scale[i % dim] + residual[i];
    }

    /// <summary>SiLU: x · sigmoid(x).</summary>
    public static void Silu(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)(x[i] / (1.0 + Math.Exp(-x[i])));
    }

    /// <summary>Logistic sigmoid: 1 / (1 + e^-x).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)(1.0 / (1.0 + Math.Exp(-x[i])));
    }

    /// <summary>Softmax over each row of x[rows,n].</summary>
    public static void Softmax(ReadOnlySpan<float> x, int rows, int n, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * n, n);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = MathF.Max(max, v);
            double sum = 0;
            for (int i = 0; i < n; i++) sum += Math.Exp(row[i] - max);
            for (int i = 0; i < n; i++) y[r * n + i] = (float)(Math.Exp(row[i] - max) / sum);
        }
    }

    /// <summary>
    /// Multi-head scaled dot-product attention, heads interleaved in the last dimension:
    /// q[B,Nq,H·D], k,v[B,Nk,H·D] → out[B,Nq,H·D], out_h = softmax(q_h k_hᵀ · scale) v_h.
    /// </summary>
    public static void Attention(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int batch, int nq, int nk, int heads, int headDim, float scale, Span<float> output)
    {
        int width = heads * headDim;
        var scores = new float[nk];
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < nq; i++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < nk; j++)
                    {
                        float dot = 0;
                        for (int d = 0; d < headDim; d++)
                            dot += q[(b * nq + i) * width + h * headDim + d] * k[(b * nk + j) * width + h * headDim + d];
                        scores[j] = dot * scale;
                        max = MathF.Max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < nk; j++) { scores[j] = MathF.Exp(scores[j] - max); sum += scores[j]; }
                    for (int d = 0; d < headDim; d++)
                    {
                        double acc = 0;
                        for (int j = 0; j < nk; j++) acc += scores[j] * v[(b * nk + j) * width + h * headDim + d];
                        output[(b * nq + i) * width + h * headDim + d] = (float)(acc / sum);
                    }
                }
    }

    /// <summary>
    /// Bilinear resize of x[planes,inH,inW] to y[planes,outH,outW] with PyTorch's source-index rule.
    /// scaleH/scaleW are the user's scale factors (output/input) when interpolate was called with scale_factor, else null.
    /// </summary>
    public static void ResizeBilinear(ReadOnlySpan<float> x, int planes, int inH, int inW, int outH, int outW,
        bool alignCorners, double? scaleH, double? scaleW, Span<float> y)
    {
        float rh = Interp.AreaScale(inH, outH, alignCorners, scaleH);
        float rw = Interp.AreaScale(inW, outW, alignCorners, scaleW);
        for (int p = 0; p < planes; p++)
            for (int oy = 0; oy < outH; oy++)
            {
                Interp.Linear(rh, oy, inH, alignCorners, out int y0, out int y1, out float ly0, out float ly1);
                for (int ox = 0; ox < outW; ox++)
                {
                    Interp.Linear(rw, ox, inW, alignCorners, out int x0, out int x1, out float lx0, out float lx1);
                    var plane = x.Slice(p * inH * inW, inH * inW);
                    y[(p * outH + oy) * outW + ox] =
                        ly0 * (lx0 * plane[y0 * inW + x0] + lx1 * plane[y0 * inW + x1]) +
                        ly1 * (lx0 * plane[y1 * inW + x0] + lx1 * plane[y1 * inW + x1]);
                }
            }
    }

    /// <summary>Bicubic resize (A = -0.75, borders clamped), PyTorch's semantics; arguments as <see cref="ResizeBilinear"/>.</summary>
    public static void ResizeBicubic(ReadOnlySpan<float> x, int planes, int inH, int inW, int outH, int outW,
        bool alignCorners, double? scaleH, double? scaleW, Span<float> y)
    {
        float rh = Interp.AreaScale(inH, outH, alignCorners, scaleH);
        float rw = Interp.AreaScale(inW, outW, alignCorners, scaleW);
        Span<float> wy = stackalloc float[4];
        Span<float> wx = stackalloc float[4];
        for (int p = 0; p < planes; p++)
        {
            var plane = x.Slice(p * inH * inW, inH * inW);
            for (int oy = 0; oy < outH; oy++)
            {
                int iy = Interp.Cubic(rh, oy, alignCorners, wy);
                for (int ox = 0; ox < outW; ox++)
                {
                    int ix = Interp.Cubic(rw, ox, alignCorners, wx);
                    float sum = 0;
                    for (int a = 0; a < 4; a++)
                    {
                        int yy = Math.Clamp(iy - 1 + a, 0, inH - 1);
                        float row = 0;
                        for (int c = 0; c < 4; c++)
                            row += wx[c] * plane[yy * inW + Math.Clamp(ix - 1 + c, 0, inW - 1)];
                        sum += wy[a] * row;
                    }
                    y[(p * outH + oy) * outW + ox] = sum;
                }
            }
        }
    }
}
