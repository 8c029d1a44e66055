using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Models.Bit;

/// <summary>Group norm (num_groups groups, eps 1e-5, affine), then the config's activation unless told not to.</summary>
public sealed class BitGroupNormActivation(Weights w, BitConfig c, int channels, bool applyActivation = true)
{
    private const float Eps = 1e-5f;
    private readonly int _groups = c.NumGroups;
    private readonly BitActivation? _activation = applyActivation ? c.Activation : null;

    public Tensor Weight { get; } = w.Get("weight", channels);
    public Tensor Bias { get; } = w.Get("bias", channels);

    /// <summary>[B, C, H, W] (the caller's, kept) → a new map of the same shape.</summary>
    public Tensor Forward(Tensor hiddenState)
    {
        hiddenState = Ops.GroupNorm(hiddenState, _groups, Weight, Bias, Eps);
        return _activation is { } activation ? Activate(activation, hiddenState) : hiddenState;
    }

    /// <summary>The activation over x's own storage.</summary>
    internal static Tensor Activate(BitActivation activation, Tensor x) => activation switch
    {
        BitActivation.Relu => Ops.ReluInPlace(x),
        BitActivation.Gelu => Ops.GeluInPlace(x),
        _ => Ops.SiluInPlace(x),
    };
}
