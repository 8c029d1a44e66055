using DepthSharp.Imaging;
using DepthSharp.Tensors;

namespace DepthSharp.Processing;

/// <summary>
/// transformers' BaseImageProcessorFast.rescale_and_normalize on an 8-bit picture, which rounds differently from the
/// slow processors' numpy steps: the factor, means and deviations are float32, and rescale with normalise is one fused
/// step, (x − mean/factor) / (std/factor).
/// </summary>
internal sealed class TorchvisionNormalize
{
    private readonly float[] _mean;
    private readonly float[] _std;
    private readonly float _scale;
    private readonly float _inverseScale;
    private readonly bool _doRescale;
    private readonly bool _doNormalize;

    /// <param name="config">A config the family's slow processor has validated (mean and std of one or three values, std not zero).</param>
    public TorchvisionNormalize(ImageProcessorConfig config)
    {
        _doRescale = config.DoRescale;
        _doNormalize = config.DoNormalize;
        // A python float multiplying a float32 tensor is rounded to float32 first.
        _scale = (float)config.RescaleFactor;
        _inverseScale = (float)(1.0 / config.RescaleFactor);
        _mean = Channels(config.ImageMean);
        _std = Channels(config.ImageStd);
    }

    // IMAGENET_STANDARD_MEAN / _STD (0.5) when absent, as every depth processor's reference class.
    private static float[] Channels(List<double>? values) => values switch
    {
        null => [0.5f, 0.5f, 0.5f],
        [var v] => [(float)v, (float)v, (float)v],
        _ => values.Select(v => (float)v).ToArray(),
    };

    /// <summary>
    /// rescale_and_normalize: [3, H, W] float32 from the picture's bytes. With both steps on, the factor goes into the
    /// statistics (_fuse_mean_std_and_rescale_factor: float32 mean and std times 1/factor) and the bytes are normalised once.
    /// </summary>
    public Tensor RescaleAndNormalize(RgbImage image)
    {
        var t = Planes(image);
        if (_doRescale && _doNormalize)
            Normalize(t, _mean.Select(m => m * _inverseScale).ToArray(), _std.Select(s => s * _inverseScale).ToArray());
        else if (_doNormalize) Normalize(t, _mean, _std);
        else if (_doRescale) Rescale(t);
        return t;
    }

    /// <summary>The picture's samples as floats, channel-first.</summary>
    private static Tensor Planes(RgbImage image)
    {
        int plane = image.Width * image.Height;
        var t = Tensor.Empty(3, image.Height, image.Width);
        var px = image.Pixels;
        for (int c = 0; c < 3; c++)
        {
            var dst = t.Data.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++) dst[i] = px[i * 3 + c];
        }
        return t;
    }

    private void Rescale(Tensor x)
    {
        var data = x.Data;
        for (int i = 0; i < data.Length; i++) data[i] *= _scale;
    }

    private static void Normalize(Tensor x, float[] mean, float[] std)
    {
        int plane = x.Dim(-2) * x.Dim(-1);
        for (long p = 0; p < x.Length / plane; p++)
        {
            int c = (int)(p % 3);
            var span = x.Data.AsSpan((int)(p * plane), plane);
            for (int i = 0; i < plane; i++) span[i] = (span[i] - mean[c]) / std[c];
        }
    }
}
