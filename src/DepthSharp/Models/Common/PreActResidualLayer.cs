using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// How the residual units of a fusion block are built: the DPT-style configs' use_batch_norm_in_fusion_residual and
/// use_bias_in_fusion_residual, and the batch norm's epsilon.
/// </summary>
/// <param name="BatchNorm">A batch norm after each convolution.</param>
/// <param name="Bias">The convolutions have biases.</param>
/// <param name="BatchNormEps">The batch norms' epsilon (ZoeDepth's batch_norm_eps; nn.BatchNorm2d's 1e-5 otherwise).</param>
internal sealed record ResidualUnitStyle(bool BatchNorm, bool Bias, double BatchNormEps = 1e-5)
{
    /// <summary>The configs' rule: with use_bias_in_fusion_residual unset, biases unless batch-normed.</summary>
    public static ResidualUnitStyle FromConfig(bool useBatchNorm, bool? useBias, double batchNormEps = 1e-5) =>
        new(useBatchNorm, useBias ?? !useBatchNorm, batchNormEps);
}

/// <summary>
/// The pre-activation residual unit DPT, ZoeDepth and DepthPro share (the reference copies it between them):
/// x + conv(relu(conv(relu(x)))), optionally batch-normed after each convolution. Its intermediates are released.
/// </summary>
internal sealed class PreActResidualLayer
{
    /// <summary>The first 3×3 convolution.</summary>
    public Conv2d Convolution1 { get; }

    /// <summary>The second 3×3 convolution.</summary>
    public Conv2d Convolution2 { get; }

    /// <summary>The batch norm after the first convolution, when the style has them.</summary>
    public BatchNorm2d? BatchNorm1 { get; }

    /// <summary>The batch norm after the second convolution, when the style has them.</summary>
    public BatchNorm2d? BatchNorm2 { get; }

    /// <param name="w">The unit's weights (…residual_layer1 or 2).</param>
    /// <param name="channels">Channels in and out.</param>
    /// <param name="style">Batch norms and biases.</param>
    public PreActResidualLayer(Weights w, int channels, ResidualUnitStyle style)
    {
        Convolution1 = new Conv2d(w["convolution1"], channels, channels, 3, 1, 1, style.Bias);
        Convolution2 = new Conv2d(w["convolution2"], channels, channels, 3, 1, 1, style.Bias);
        if (style.BatchNorm)
        {
            BatchNorm1 = new BatchNorm2d(w["batch_norm1"], channels, style.BatchNormEps);
            BatchNorm2 = new BatchNorm2d(w["batch_norm2"], channels, style.BatchNormEps);
        }
    }

    /// <summary>
    /// Forward(hiddenState) written over the input (the caller's to lose, returned) in bands of <paramref name="bandRows"/>
    /// rows, so that no full-size intermediate is made. Each band is read with the two rows beyond it on each side that the
    /// two convolutions reach; the false zero padding at a widened band's inner edges spoils the first convolution's edge
    /// row there and so the second's two edge rows, which are those two extra rows and are not kept.
    /// </summary>
    public Tensor ForwardInBands(Tensor hiddenState, int bandRows)
    {
        int batch = hiddenState.Dim(0), channels = hiddenState.Dim(1), h = hiddenState.Dim(2), w = hiddenState.Dim(3);
        // The rows above the next band as the band above read them: written over, the map no longer holds them.
        Tensor? above = null;
        for (int a = 0; a < h; a += bandRows)
        {
            int b = Math.Min(h, a + bandRows);
            var (x0, x1) = RowBands.Widen(a, b, 2, h);
            var band = Tensor.Empty(batch, channels, x1 - x0, w);
            if (above is not null)
            {
                Ops.CopySlice(above, 0, band, 0, 2, a - x0);
                above.Release();
            }
            Ops.CopySlice(hiddenState, a, band, a - x0, 2, x1 - a);
            int next = Math.Max(0, b - 2);
            above = b < h ? Ops.Narrow(band, 2, next - x0, b - next) : null;
            // The band's rows become the unit's output rows: the residual branch is added into them, as Forward does.
            var h1 = Convolution1.Forward(band, reluInput: true);
            if (BatchNorm1 is not null) h1 = Lifetimes.Replace(h1, BatchNorm1.Forward(h1));
            if (BatchNorm2 is null)
            {
                Convolution2.Forward(h1, reluInput: true, addTo: band);
                h1.Release();
            }
            else
            {
                var h2 = Lifetimes.Replace(h1, Convolution2.Forward(h1, reluInput: true));
                h2 = Lifetimes.Replace(h2, BatchNorm2.Forward(h2));
                Ops.AddInPlace(band, h2);
                h2.Release();
            }
            Ops.CopySlice(band, a - x0, hiddenState, a, 2, b - a);
            band.Release();
        }
        return hiddenState;
    }

    /// <summary>x + conv2(relu(conv1(relu(x)))), batch-normed after each convolution when the style says so.</summary>
    /// <param name="hiddenState">x, [B, C, H, W].</param>
    /// <param name="consumeInput">
    /// The input is the caller's to lose: without batch norm the residual branch is then added straight into it (the
    /// result is the input tensor), so only one map besides it is ever alive.
    /// </param>
    public Tensor Forward(Tensor hiddenState, bool consumeInput = false)
    {
        // The relus are applied as the convolutions read their inputs, so no relu'd copy of a map is made.
        var h = Convolution1.Forward(hiddenState, reluInput: true);
        if (BatchNorm1 is not null) h = Lifetimes.Replace(h, BatchNorm1.Forward(h));
        if (consumeInput && BatchNorm2 is null)
        {
            Convolution2.Forward(h, reluInput: true, addTo: hiddenState);
            h.Release();
            return hiddenState;
        }
        h = Lifetimes.Replace(h, Convolution2.Forward(h, reluInput: true));
        if (BatchNorm2 is not null) h = Lifetimes.Replace(h, BatchNorm2.Forward(h));
        Ops.AddInPlace(h, hiddenState);
        if (consumeInput) hiddenState.Release();
        return h;
    }
}
