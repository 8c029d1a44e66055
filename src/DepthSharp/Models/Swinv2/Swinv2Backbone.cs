using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// transformers' Swinv2Backbone: embeddings and encoder, returning for each stage of out_features its map (the
/// embeddings for "stem", a stage's blocks' output before merging otherwise) as [B, C, h, w].
/// </summary>
internal sealed class Swinv2Backbone
{
    private readonly string _path;
    public Swinv2Config Config { get; }
    public Swinv2Embeddings Embeddings { get; }
    public Swinv2Encoder Encoder { get; }

    /// <param name="c">A validated config (<see cref="Swinv2Config.Validate"/>).</param>
    /// <param name="w">The weights under the module's path.</param>
    public Swinv2Backbone(Weights w, Swinv2Config c)
    {
        if (c.OutStageIndices.Count == 0) throw new ArgumentException("the Swin V2 config has not been validated", nameof(c));
        _path = w.Prefix;
        Config = c;
        Embeddings = new Swinv2Embeddings(w["embeddings"], c);
        Encoder = new Swinv2Encoder(w["encoder"], c);
    }

    /// <summary>Progress steps of one forward pass: one per block.</summary>
    public int ForwardSteps => Config.Depths.Sum();

    /// <summary>The feature maps of the out stages, in stage order, each a tensor of its own.</summary>
    public Tensor[] Forward(Tensor pixelValues, ForwardContext? context = null, string progressStage = "backbone")
    {
        var embeddingOutput = Embeddings.Forward(pixelValues);
        var hiddenStates = Encoder.Forward(embeddingOutput, context, progressStage);
        var stages = Config.OutStageIndices;
        var featureMaps = new Tensor[stages.Count];
        for (int i = 0; i < featureMaps.Length; i++)
        {
            // b (h w) c → b c h w
            var (tokens, height, width) = hiddenStates[stages[i]];
            featureMaps[i] = Ops.Permute(tokens.Reshape(tokens.Dim(0), height, width, tokens.Dim(2)), 0, 3, 1, 2);
            ActivationTrace.Record($"{_path}.0.{i}", featureMaps[i]);
        }
        for (int i = 0; i < hiddenStates.Length; i++)
        {
            ActivationTrace.Record($"{_path}.1.{i}", hiddenStates[i].HiddenStates);
            hiddenStates[i].HiddenStates.Release();
        }
        return featureMaps;
    }
}
