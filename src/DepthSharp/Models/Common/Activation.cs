using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>transformers' ACT2FN for the activations the configs name (<see cref="HiddenAct"/>).</summary>
internal static class Activation
{
    /// <summary>Applies the config's hidden_act over x's own storage.</summary>
    public static Tensor ApplyInPlace(HiddenAct activation, Tensor x) => activation switch
    {
        HiddenAct.Gelu => Ops.GeluInPlace(x),
        HiddenAct.Relu => Ops.ReluInPlace(x),
        HiddenAct.Silu => Ops.SiluInPlace(x),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "not an activation"),
    };
}
