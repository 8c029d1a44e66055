using DepthSharp.Checkpoints;
using DepthSharp.Models;
using DepthSharp.Models.Configs;
using DepthSharp.Tensors;
using DepthSharp.Tensors.Kernels;
using DepthSharp.Tests.Kernels;

namespace DepthSharp.Tests.Models;

/// <summary>
/// Swin V2 blocks on maps that are not a whole number of windows, which the fixture does not cover: against a plain
/// double-precision transcription of the reference's steps (pad right and bottom with zero tokens, roll, cut windows,
/// project, cosine attention with the position-bias MLP evaluated per offset and the band mask, merge, roll back, crop,
/// post-norm residuals), and against the same block run on the explicitly zero-padded map.
/// </summary>
[Collection(nameof(KernelOptionsCollection))]
public sealed class Swinv2LayerTests
{
    private const string Case = "dpt_swinv2_tiny";

    /// <summary>The fixture's config with ReLU for GELU: the activation is not what these tests are about, and it needs no erf here.</summary>
    private static Swinv2Config ReluConfig()
    {
        var config = BackboneConfigFiles.Swinv2(Fixtures.Path("models", Case, "config.json"));
        config.HiddenAct = HiddenAct.Relu;
        config.Validate(null, "backbone_config.");
        return config;
    }

    // stage, block, map height and width, and the block's window and shift as derived by hand from image_size 64,
    // patch 4, window 4: build-time maps 16, 8, 4, 2 → windows 4, 4, 4, 2; odd blocks shift by 2 where the map is wider.
    [Theory]
    [InlineData(0, 1, 7, 10, 4, 2)]
    [InlineData(1, 1, 5, 9, 4, 2)]
    [InlineData(1, 1, 3, 2, 4, 2)]
    [InlineData(0, 0, 6, 7, 4, 0)]
    [InlineData(2, 1, 5, 6, 4, 0)]
    [InlineData(3, 0, 3, 3, 2, 0)]
    public void BlockMatchesAPlainTranscriptionOfTheReference(int stage, int block, int height, int width, int window, int shift)
    {
        var layer = Swinv2BackboneTests.Load(ReluConfig()).Encoder.Layers[stage].Blocks[block];
        Assert.Equal((window, shift), (layer.WindowSize, layer.ShiftSize));
        int dim = 12 << stage;
        var x = new Tensor(KernelTestHelpers.Random(11 + stage, (long)height * width * dim, 2f), 1, height * width, dim);
        using var weights = SafeTensorsFile.Open(Fixtures.Path("models", Case, "model.safetensors"));
        var expected = Transcription(weights, $"backbone.encoder.layers.{stage}.blocks.{block}.", x, height, width, dim, 1 << stage, window, shift);
        foreach (bool force in new[] { false, true })
        {
            using var _ = new KernelTestHelpers.Options(2);
            KernelOptions.ForceReference = force;
            Tolerance.AssertModelClose($"block {stage}.{block} on {height}x{width}, reference kernels {force}", expected, layer.Forward(x, height, width));
        }
    }

    [Theory]
    [InlineData(0, 1, 7, 10)]
    [InlineData(1, 0, 5, 3)]
    [InlineData(1, 1, 9, 9)]
    public void BlockOnAMapEqualsTheBlockOnTheMapPaddedWithZeroTokens(int stage, int block, int height, int width)
    {
        // The reference pads the map with zero tokens before the windows and drops them after; everything else acts per
        // token. So the block on the map is the block on the padded map, cropped, only if padding is done as it does.
        var layer = Swinv2BackboneTests.Load(ReluConfig()).Encoder.Layers[stage].Blocks[block];
        int dim = 12 << stage, ws = layer.WindowSize;
        int hp = Ops.WholeWindows(height, ws), wp = Ops.WholeWindows(width, ws);
        Assert.True(hp > height || wp > width);
        var x = new Tensor(KernelTestHelpers.Random(21, (long)height * width * dim, 2f), 1, height, width, dim);
        var padded = Ops.PadEnd(Ops.PadEnd(x, 1, hp - height), 2, wp - width);
        var direct = layer.Forward(x.Reshape(1, height * width, dim), height, width);
        var whole = layer.Forward(padded.Reshape(1, hp * wp, dim), hp, wp).Reshape(1, hp, wp, dim);
        var cropped = Ops.Narrow(Ops.Narrow(whole, 1, 0, height), 2, 0, width).Reshape(1, height * width, dim);
        Tolerance.AssertModelClose($"block {stage}.{block} on {height}x{width}", cropped, direct);
    }

    /// <summary>The reference's Swinv2Layer forward for one picture, written out step by step in doubles.</summary>
    private static Tensor Transcription(SafeTensorsFile weights, string prefix, Tensor input, int height, int width, int dim, int heads,
        int ws, int shift)
    {
        double[] W(string name) => weights.Read(prefix + name).Data.Select(v => (double)v).ToArray();
        double[] wq = W("attention.self.query.weight"), bq = W("attention.self.query.bias");
        double[] wk = W("attention.self.key.weight");
        double[] wv = W("attention.self.value.weight"), bv = W("attention.self.value.bias");
        double[] wo = W("attention.output.dense.weight"), bo = W("attention.output.dense.bias");
        double[] logitScale = W("attention.self.logit_scale");
        double[] m1 = W("attention.self.continuous_position_bias_mlp.0.weight"), c1 = W("attention.self.continuous_position_bias_mlp.0.bias");
        double[] m2 = W("attention.self.continuous_position_bias_mlp.2.weight");
        int hidden = 4 * dim, d = dim / heads;
        int hp = (height + ws - 1) / ws * ws, wp = (width + ws - 1) / ws * ws;

        // The padded map rolled by −shift: frame position (y, x) holds map token ((y + shift) mod hp, (x + shift) mod wp), or zeros.
        double[] Token(int y, int x)
        {
            int sy = (y + shift) % hp, sx = (x + shift) % wp;
            var t = new double[dim];
            if (sy < height && sx < width)
                for (int c = 0; c < dim; c++) t[c] = input.Data[(sy * width + sx) * dim + c];
            return t;
        }
        // img_mask's bands, labelled in the rolled frame.
        int Band(int at, int size) => at < size - ws ? 0 : at < size - shift ? 1 : 2;
        // The MLP's bias for an offset, per head, from the log-spaced offsets.
        double Spaced(int offset)
        {
            double v = offset / (double)(ws > 1 ? ws - 1 : 1) * 8;
            return Math.Sign(v) * Math.Log2(Math.Abs(v) + 1) / 3;
        }
        double[] PositionBias(int dy, int dx)
        {
            var h1 = new double[512];
            for (int u = 0; u < 512; u++) h1[u] = Math.Max(0, m1[2 * u] * Spaced(dy) + m1[2 * u + 1] * Spaced(dx) + c1[u]);
            var bias = new double[heads];
            for (int h = 0; h < heads; h++) bias[h] = 16 / (1 + Math.Exp(-Dot(m2, h * 512, h1, 0, 512)));
            return bias;
        }

        var attended = new double[hp, wp][];
        int n = ws * ws;
        for (int r = 0; r < hp; r += ws)
            for (int q = 0; q < wp; q += ws)
            {
                var tokens = Enumerable.Range(0, n).Select(t => Token(r + t / ws, q + t % ws)).ToArray();
                var qs = tokens.Select(t => Affine(wq, bq, t, dim)).ToArray();
                var ks = tokens.Select(t => Affine(wk, null, t, dim)).ToArray();
                var vs = tokens.Select(t => Affine(wv, bv, t, dim)).ToArray();
                for (int i = 0; i < n; i++)
                {
                    var context = new double[dim];
                    for (int h = 0; h < heads; h++)
                    {
                        double scale = Math.Exp(Math.Min(logitScale[h], Math.Log(100)));
                        var scores = new double[n];
                        for (int j = 0; j < n; j++)
                        {
                            double cos = Dot(qs[i], h * d, ks[j], h * d, d)
                                / (Math.Max(Math.Sqrt(Dot(qs[i], h * d, qs[i], h * d, d)), 1e-12) * Math.Max(Math.Sqrt(Dot(ks[j], h * d, ks[j], h * d, d)), 1e-12));
                            scores[j] = cos * scale + PositionBias(i / ws - j / ws, i % ws - j % ws)[h];
                            // The reference adds its −100 mask twice.
                            if (shift > 0 && Band(r + i / ws, hp) * 3 + Band(q + i % ws, wp) != Band(r + j / ws, hp) * 3 + Band(q + j % ws, wp))
                                scores[j] += -200;
                        }
                        double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                        for (int j = 0; j < n; j++)
                            for (int c = 0; c < d; c++) context[h * d + c] += Math.Exp(scores[j] - max) / sum * vs[j][h * d + c];
                    }
                    attended[r + i / ws, q + i % ws] = Affine(wo, bo, context, dim);
                }
            }

        double[] w1 = W("intermediate.dense.weight"), b1 = W("intermediate.dense.bias");
        double[] w2 = W("output.dense.weight"), b2 = W("output.dense.bias");
        double[] g1 = W("layernorm_before.weight"), e1 = W("layernorm_before.bias");
        double[] g2 = W("layernorm_after.weight"), e2 = W("layernorm_after.bias");
        var output = new float[height * width * dim];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                // Rolled back by +shift, cropped: map token (y, x) sits at frame ((y − shift) mod hp, (x − shift) mod wp).
                var a = attended[(y - shift + hp) % hp, (x - shift + wp) % wp];
                var normed = LayerNorm(a, g1, e1);
                var h1 = new double[dim];
                for (int c = 0; c < dim; c++) h1[c] = input.Data[(y * width + x) * dim + c] + normed[c];
                var mlp = Affine(w2, b2, Affine(w1, b1, h1, hidden).Select(v => Math.Max(0, v)).ToArray(), dim);
                var normed2 = LayerNorm(mlp, g2, e2);
                for (int c = 0; c < dim; c++) output[(y * width + x) * dim + c] = (float)(h1[c] + normed2[c]);
            }
        return new Tensor(output, 1, height * width, dim);
    }

    private static double Dot(double[] a, int aAt, double[] b, int bAt, int count)
    {
        double s = 0;
        for (int i = 0; i < count; i++) s += a[aAt + i] * b[bAt + i];
        return s;
    }

    /// <summary>w [outF, in] · x + b.</summary>
    private static double[] Affine(double[] w, double[]? b, double[] x, int outF)
    {
        var y = new double[outF];
        for (int o = 0; o < outF; o++) y[o] = Dot(w, o * x.Length, x, 0, x.Length) + (b?[o] ?? 0);
        return y;
    }

    private static double[] LayerNorm(double[] x, double[] gamma, double[] beta)
    {
        double mean = x.Average(), variance = x.Select(v => (v - mean) * (v - mean)).Average();
        return x.Select((v, i) => (v - mean) / Math.Sqrt(variance + 1e-5) * gamma[i] + beta[i]).ToArray();
    }
}
