using DepthSharp.Checkpoints;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>How a model's <c>FromPretrained</c> gets its weights.</summary>
public sealed record PretrainedOptions
{
    /// <summary>
    /// Quantise the linear layers' weights to 8 bits as they load, with one float scale per output feature: a quarter
    /// of their float32 memory, computed in float32; the depth moves by the weights' rounding.
    /// </summary>
    public bool Int8Weights { get; init; }

    /// <summary>Random weights from this seed instead of the folder's checkpoint (benchmarks: only config.json is read).</summary>
    public int? RandomWeightsSeed { get; init; }

    /// <summary>With random weights, the linear layers' matrices kept in this 16-bit format, as from a half-width checkpoint.</summary>
    internal HalfKind? RandomHalfWeights { get; init; }
}

/// <summary>The strict weight loading every <c>*ForDepthEstimation.FromPretrained</c> shares.</summary>
internal static class Pretrained
{
    /// <summary>
    /// Builds a model from a folder's checkpoint (model.safetensors or a sharded index), or from random weights: every
    /// missing or misshapen tensor, and every checkpoint tensor the model did not ask for (unless under one of
    /// <paramref name="ignoredUnusedPrefixes"/>), is reported by name in one <see cref="CheckpointException"/>.
    /// </summary>
    public static TModel Load<TModel>(string folder, PretrainedOptions? options, Func<Weights, TModel> build, params string[] ignoredUnusedPrefixes)
    {
        options ??= new PretrainedOptions();
        TModel model;
        if (options.RandomWeightsSeed is int seed)
        {
            IWeightSource random = new RandomWeights(seed, options.RandomHalfWeights);
            model = build(new Weights(options.Int8Weights ? new Int8LinearWeights(random) : random));
        }
        else
        {
            using var checkpoint = Checkpoint.OpenDirectory(folder);
            var source = new CheckpointWeights(checkpoint);
            model = build(new Weights(options.Int8Weights ? new Int8LinearWeights(source, checkpoint.Source) : source));
            source.Finish(ignoredUnusedPrefixes);
        }
        ReturnLoadGarbage();
        return model;
    }

    /// <summary>
    /// Loading leaves the checkpoint-layout copies of the weights as garbage, and the collector would keep their pages for
    /// itself: one compacting collection gives them back, so the first forward pass starts from the weights alone.
    /// </summary>
    private static void ReturnLoadGarbage() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
}
