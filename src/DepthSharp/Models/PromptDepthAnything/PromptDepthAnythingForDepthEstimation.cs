using DepthSharp.Checkpoints;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;

namespace DepthSharp.Models;

/// <summary>
/// transformers' PromptDepthAnythingForDepthEstimation: Depth Anything (DINOv2 backbone, DPT-style neck, depth head) with
/// a low-resolution metric depth map, the prompt (a phone's LiDAR depth, in metres), fused into every fusion layer. The
/// prompt is normalised to [0, 1] per image and the head's output is scaled back by the prompt's range, so the depth
/// comes out in the prompt's unit; without a prompt the output is the head's as is.
/// </summary>
public sealed class PromptDepthAnythingForDepthEstimation
{
    /// <summary>The validated config.json.</summary>
    public PromptDepthAnythingConfig Config { get; }
    /// <summary>DINOv2 returning the configured stages' layer-normed token sequences.</summary>
    internal Dinov2Backbone Backbone { get; }
    /// <summary>Reassembly and fusion, with the prompt.</summary>
    internal PromptDepthAnythingNeck Neck { get; }
    /// <summary>The depth head.</summary>
    internal PromptDepthAnythingDepthEstimationHead Head { get; }

    /// <summary>Builds the model from weights named as the checkpoint's (backbone.*, neck.*, head.*).</summary>
    internal PromptDepthAnythingForDepthEstimation(Weights w, PromptDepthAnythingConfig c)
    {
        Config = c;
        Backbone = new Dinov2Backbone(w["backbone"], c.BackboneModel);
        Neck = new PromptDepthAnythingNeck(w["neck"], c);
        Head = new PromptDepthAnythingDepthEstimationHead(w["head"], c);
    }

    /// <summary>
    /// The model of a folder (config.json and model.safetensors or a sharded index), loaded strictly: every missing,
    /// unused or misshapen tensor is reported by name. <paramref name="options"/> asks for 8-bit or random weights.
    /// </summary>
    /// <param name="folder">The checkpoint's folder.</param>
    /// <param name="options">8-bit or random weights; null: the checkpoint's weights as they are.</param>
    /// <exception cref="ConfigException">config.json is missing a value or has an impossible one.</exception>
    /// <exception cref="CheckpointException">The weights are broken or do not fit the config.</exception>
    public static PromptDepthAnythingForDepthEstimation FromPretrained(string folder, PretrainedOptions? options = null)
    {
        var config = PromptDepthAnythingConfig.Load(Path.Combine(folder, "config.json"));
        return Pretrained.Load(folder, options, w => new PromptDepthAnythingForDepthEstimation(w, config));
    }

    /// <summary>Progress steps of one forward pass: backbone layers, fusion layers, head.</summary>
    public int ForwardSteps => Config.BackboneModel.NumHiddenLayers + Neck.Convs.Length + 1;

    /// <summary>
    /// Depth [B, h, w] for pixel values [B, 3, H, W]: with a prompt [B, 1, ph, pw] (any size; the processor's, in metres)
    /// in the prompt's unit; without one, the head's output (sigmoid for the released metric checkpoints).
    /// </summary>
    /// <param name="pixelValues">[B, 3, H, W] from the family's image processor; H and W multiples of the patch size.</param>
    /// <param name="promptDepth">[B, 1, ph, pw] metric depth from the processor; null: none.</param>
    /// <param name="progress">Receives one <see cref="ModelProgress"/> per step (<see cref="ForwardSteps"/> in all); null: none.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <exception cref="ArgumentException"><paramref name="pixelValues"/> is not of rank 4.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="PromptDepthException">The prompt is not [B, 1, ph, pw] for the pictures' batch, or an image's prompt has a non-finite value or is constant.</exception>
    public Tensor Forward(Tensor pixelValues, Tensor? promptDepth = null, IProgress<ModelProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (pixelValues.Rank != 4) throw new ArgumentException($"pixel values must be [batch, channels, height, width], got {pixelValues}");
        var context = new ForwardContext(ForwardSteps, progress, cancellationToken);
        // The prompt is checked and normalised before the backbone's work, which a bad prompt would waste.
        var prompt = promptDepth is null ? null : NormalizedPrompt.Of(promptDepth, pixelValues.Dim(0));

        var hiddenStates = Backbone.Forward(pixelValues, context);
        int patchHeight = pixelValues.Dim(2) / Config.PatchSize, patchWidth = pixelValues.Dim(3) / Config.PatchSize;

        var fused = Neck.Forward(hiddenStates, patchHeight, patchWidth, prompt?.Values, context);
        var predictedDepth = Lifetimes.Replace(fused, Head.Forward(fused, patchHeight, patchWidth));
        if (prompt is not null)
        {
            prompt.Denormalize(predictedDepth);
            prompt.Values.Release();
        }
        context.Step("head");
        return predictedDepth;
    }

    /// <summary>The prompt scaled to [0, 1] per image, with each image's minimum and range to scale the depth back.</summary>
    private sealed class NormalizedPrompt(Tensor values, float[] min, float[] range)
    {
        public Tensor Values { get; } = values;

        public static NormalizedPrompt Of(Tensor promptDepth, int batch)
        {
            if (promptDepth.Rank != 4 || promptDepth.Dim(1) != 1)
                throw new PromptDepthException(null, $"prompt_depth must be [batch, 1, height, width], got [{string.Join(", ", promptDepth.Shape)}]");
            if (promptDepth.Dim(0) != batch)
                throw new PromptDepthException(null, $"prompt_depth holds {promptDepth.Dim(0)} prompt(s) for a batch of {batch} picture(s)");
            int plane = promptDepth.Dim(2) * promptDepth.Dim(3);
            var values = Tensor.Empty(promptDepth.Shape);
            float[] min = new float[batch], range = new float[batch];
            for (int b = 0; b < batch; b++)
            {
                var src = promptDepth.Data.AsSpan(b * plane, plane);
                var (lo, hi) = PromptDepthValues.Range(src, promptDepth.Dim(3), null, $"prompt_depth[{b}]");
                min[b] = lo;
                range[b] = hi - lo;
                var dst = values.Data.AsSpan(b * plane, plane);
                for (int i = 0; i < plane; i++) dst[i] = (src[i] - lo) / range[b];
            }
            return new NormalizedPrompt(values, min, range);
        }

        /// <summary>depth · (max − min) + min per image, in place, as two float32 operations like the reference's.</summary>
        public void Denormalize(Tensor depth)
        {
            int plane = depth.Dim(1) * depth.Dim(2);
            for (int b = 0; b < depth.Dim(0); b++)
            {
                var d = depth.Data.AsSpan(b * plane, plane);
                for (int i = 0; i < plane; i++)
                {
                    float scaled = d[i] * range[b];
                    d[i] = scaled + min[b];
                }
            }
        }
    }
}
