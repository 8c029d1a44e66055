using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Group norm (num_groups groups, eps 1e-5, affine), then the config's activation unless told not to.</summary>
internal sealed class BitGroupNormActivation(Weights w, BitConfig c, int channels, bool applyActivation = true)
{
    private const float Eps = 1e-5f;
    private readonly int _groups = c.NumGroups;
    private readonly HiddenAct? _activation = applyActivation ? c.HiddenAct : null;

    public Tensor Weight { get; } = w.Get("weight", channels);
    public Tensor Bias { get; } = w.Get("bias", channels);

    /// <summary>[B, C, H, W] (the caller's, kept) → a new map of the same shape.</summary>
    public Tensor Forward(Tensor hiddenState)
    {
        hiddenState = Ops.GroupNorm(hiddenState, _groups, Weight, Bias, Eps);
        return _activation is { } activation ? Activation.ApplyInPlace(activation, hiddenState) : hiddenState;
    }
}
