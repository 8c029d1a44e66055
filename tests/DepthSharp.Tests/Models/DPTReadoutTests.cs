using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Tests.Models;

/// <summary>readout_type "ignore" and "add" (the fixtures cover "project"): with identity projections, the maps are the tokens as the readout leaves them.</summary>
public class DPTReadoutTests
{
    /// <summary>Identity 1×1 projections and zero biases; anything else is not asked for with these settings.</summary>
    private sealed class IdentityWeights : IWeightSource
    {
        public Tensor Get(string name, int[] shape)
        {
            var t = Tensor.Zeros(shape);
            if (shape.Length == 4 && shape[2] == 1 && shape[3] == 1)
                for (int i = 0; i < Math.Min(shape[0], shape[1]); i++) t.Data[i * shape[1] + i] = 1f;
            return t;
        }
    }

    [Theory]
    [InlineData(ReadoutType.Ignore)]
    [InlineData(ReadoutType.Add)]
    public void ReadoutFoldsTheClassTokenAsConfigured(ReadoutType readout)
    {
        const int batch = 2, gridH = 2, gridW = 3, c = 4;
        var stage = new DPTReassembleStage(new Weights(new IdentityWeights()), c, [c], [1], readout, HiddenAct.Gelu);
        var hidden = Tensor.Empty(batch, 1 + gridH * gridW, c);
        var rng = new Random(5);
        for (int i = 0; i < hidden.Data.Length; i++) hidden.Data[i] = (float)rng.NextDouble();

        var map = stage.Forward(0, hidden, gridH, gridW);
        Assert.Equal([batch, c, gridH, gridW], map.Shape);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < gridH * gridW; t++)
                for (int ch = 0; ch < c; ch++)
                {
                    float token = hidden.Data[(b * (1 + gridH * gridW) + 1 + t) * c + ch];
                    float cls = hidden.Data[b * (1 + gridH * gridW) * c + ch];
                    float expected = readout == ReadoutType.Add ? token + cls : token;
                    Assert.Equal(expected, map.Data[(b * c + ch) * gridH * gridW + t]);
                }
    }
}
