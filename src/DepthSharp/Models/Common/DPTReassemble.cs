using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>Token sequences to feature maps and back, shared by the DPT-style necks.</summary>
internal static class TokenMaps
{
    /// <summary>Drops the class token of [B, 1 + h·w, C] and returns the patch tokens as a map [B, C, h, w].</summary>
    /// <param name="hidden">The tokens (the caller's, kept).</param>
    /// <param name="gridH">Patch rows.</param>
    /// <param name="gridW">Patch columns.</param>
    public static Tensor PatchTokensToMap(Tensor hidden, int gridH, int gridW)
    {
        int b = hidden.Dim(0), n = hidden.Dim(1) - 1, c = hidden.Dim(2);
        if (n != gridH * gridW) throw new ArgumentException($"{n} patch tokens do not form a {gridH}x{gridW} grid");
        var tokens = Ops.Narrow(hidden, 1, 1, n);
        return Lifetimes.Replace(tokens, Ops.Permute(tokens.Reshape(b, gridH, gridW, c), 0, 3, 1, 2));
    }

    /// <summary>
    /// Releases entry <paramref name="i"/> of the backbone's outputs once it has been read, unless a later entry is the
    /// same tensor (a stage listed twice), which is then released when that entry is.
    /// </summary>
    public static void ReleaseRead(Tensor[] hiddenStates, int i)
    {
        for (int j = i + 1; j < hiddenStates.Length; j++)
            if (ReferenceEquals(hiddenStates[j], hiddenStates[i])) return;
        hiddenStates[i].Release();
    }
}

/// <summary>Projects a token map to its neck width, then resizes it by the reassemble factor.</summary>
internal sealed class DPTReassembleLayer
{
    private readonly Func<Tensor, Tensor>? _resize;

    /// <summary>The 1×1 projection to the neck width.</summary>
    public Conv2d Projection { get; }

    /// <param name="w">The layer's weights (…reassemble_stage.layers.{i}).</param>
    /// <param name="inChannels">The backbone's hidden size.</param>
    /// <param name="channels">This neck map's width (neck_hidden_sizes[i]).</param>
    /// <param name="factor">reassemble_factors[i]: above 1 a transposed convolution of that size and stride, below 1 a 3×3 convolution of stride 1/factor.</param>
    public DPTReassembleLayer(Weights w, int inChannels, int channels, double factor)
    {
        Projection = new Conv2d(w["projection"], inChannels, channels, 1);
        if (factor > 1)
        {
            int k = (int)factor;
            _resize = new ConvTranspose2d(w["resize"], channels, channels, k, k).Forward;
        }
        else if (factor < 1)
        {
            _resize = new Conv2d(w["resize"], channels, channels, 3, (int)(1 / factor), 1).Forward;
        }
    }

    /// <summary>The map [B, C, h, w] (the caller's, kept) → [B, channels, h·factor, w·factor].</summary>
    public Tensor Forward(Tensor x)
    {
        x = Projection.Forward(x);
        return _resize is null ? x : Lifetimes.Replace(x, _resize(x));
    }
}

/// <summary>
/// Turns the backbone's token sequences into feature maps, folding in the class token as the readout type says, then
/// projects and resizes each (DPT's reassemble stage; ZoeDepth's is the same module).
/// </summary>
internal sealed class DPTReassembleStage
{
    private readonly ReadoutType _readout;
    private readonly HiddenAct _activation;

    private readonly IReadOnlySet<int> _ignoreStages;

    /// <summary>Each map's projection and resize; null for an ignored stage.</summary>
    public DPTReassembleLayer?[] Layers { get; }

    /// <summary>The readout projections (readout_type "project" only); null for an ignored stage.</summary>
    public Linear?[]? ReadoutProjects { get; }

    /// <param name="w">The stage's weights (…reassemble_stage).</param>
    /// <param name="hiddenSize">Width of the backbone's tokens.</param>
    /// <param name="neckHiddenSizes">Channels of each reassembled map (neck_hidden_sizes).</param>
    /// <param name="reassembleFactors">Resize factor of each map (reassemble_factors).</param>
    /// <param name="readout">readout_type.</param>
    /// <param name="activation">hidden_act, after the readout projection.</param>
    /// <param name="ignoreStages">
    /// neck_ignore_stages: inputs handed on as they are, with neither layer nor projection (DPT-Hybrid's BiT feature maps).
    /// </param>
    public DPTReassembleStage(Weights w, int hiddenSize, IReadOnlyList<int> neckHiddenSizes, IReadOnlyList<double> reassembleFactors,
        ReadoutType readout, HiddenAct activation, IReadOnlySet<int>? ignoreStages = null)
    {
        _readout = readout;
        _activation = activation;
        _ignoreStages = ignoreStages ?? new HashSet<int>();
        Layers = neckHiddenSizes.Select((ch, i) => _ignoreStages.Contains(i) ? null : new DPTReassembleLayer(w["layers"][i], hiddenSize, ch, reassembleFactors[i])).ToArray();
        if (readout == ReadoutType.Project)
            ReadoutProjects = Enumerable.Range(0, Layers.Length)
                .Select(i => _ignoreStages.Contains(i) ? null : new Linear(w["readout_projects"][i][0], 2 * hiddenSize, hiddenSize)).ToArray();
    }

    /// <summary>
    /// Map <paramref name="index"/> from that stage's tokens [B, 1 + gridH·gridW, C] (the caller's, kept); an ignored
    /// stage's input is returned as it is.
    /// </summary>
    public Tensor Forward(int index, Tensor hidden, int gridH, int gridW)
    {
        if (_ignoreStages.Contains(index)) return hidden;
        int b = hidden.Dim(0), n = hidden.Dim(1) - 1, c = hidden.Dim(2);
        if (n != gridH * gridW) throw new ArgumentException($"{n} patch tokens do not form a {gridH}x{gridW} grid");
        Tensor map;
        switch (_readout)
        {
            case ReadoutType.Project:
            {
                // Each patch token next to its image's class token, [B, N, 2C], through Linear and the activation.
                var joined = Tensor.Empty(b, n, 2 * c);
                for (int bi = 0; bi < b; bi++)
                    for (int t = 0; t < n; t++)
                    {
                        long dst = ((long)bi * n + t) * 2 * c;
                        Array.Copy(hidden.Data, ((long)bi * (n + 1) + 1 + t) * c, joined.Data, dst, c);
                        Array.Copy(hidden.Data, (long)bi * (n + 1) * c, joined.Data, dst + c, c);
                    }
                var projected = Lifetimes.Replace(joined, Activation.ApplyInPlace(_activation, ReadoutProjects![index]!.Forward(joined)));
                map = Lifetimes.Replace(projected, Ops.Permute(projected.Reshape(b, gridH, gridW, c), 0, 3, 1, 2));
                break;
            }
            case ReadoutType.Add:
            {
                var tokens = Ops.Narrow(hidden, 1, 1, n);
                for (int bi = 0; bi < b; bi++)
                    for (int t = 0; t < n; t++)
                        for (int ch = 0; ch < c; ch++)
                            tokens.Data[((long)bi * n + t) * c + ch] += hidden.Data[(long)bi * (n + 1) * c + ch];
                map = Lifetimes.Replace(tokens, Ops.Permute(tokens.Reshape(b, gridH, gridW, c), 0, 3, 1, 2));
                break;
            }
            case ReadoutType.Ignore:
                map = TokenMaps.PatchTokensToMap(hidden, gridH, gridW);
                break;
            default:
                throw new InvalidOperationException($"readout {_readout}");
        }
        return Lifetimes.Replace(map, Layers[index]!.Forward(map));
    }
}
