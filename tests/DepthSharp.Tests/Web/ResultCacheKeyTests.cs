using System.Reflection;
using DepthSharp.Analysis;
using DepthSharp.Extensions.Hosting;
using DepthSharp.Pipeline;
using DepthSharp.Web;

namespace DepthSharp.Tests.Web;

/// <summary>
/// The key results are shared under by the service's replicas: the same picture, model and options give the same key,
/// and a change to any of them another (so no replica serves a result computed for other settings).
/// </summary>
public sealed class ResultCacheKeyTests
{
    private static readonly byte[] Picture = File.ReadAllBytes(Fixtures.Path("images", "exif_focal_35mm.jpg"));
    private static readonly string Model = new('a', 64);

    /// <summary>DepthEstimationOptions' settings that change no number of a result (the model is keyed by its files instead).</summary>
    private static readonly string[] NotInTheKey = ["Model", "Threads", "MaxPixels", "LoadOnStart"];

    [Fact]
    public void SamePictureModelAndOptionsGiveTheSameKey()
    {
        string first = ResultCacheKey.For(Picture, Model, new DepthEstimationOptions { FlipAverage = true, FocalLengthPixels = 500 });
        string second = ResultCacheKey.For((byte[])Picture.Clone(), new string('a', 64), new DepthEstimationOptions { FlipAverage = true, FocalLengthPixels = 500 });
        Assert.Equal(first, second);
        Assert.Matches("^[0-9a-f]{64}$", first);
    }

    [Fact]
    public void AnotherPictureOrModelGivesAnotherKey()
    {
        var options = new DepthEstimationOptions();
        string key = ResultCacheKey.For(Picture, Model, options);
        var changed = (byte[])Picture.Clone();
        changed[^3] ^= 1;
        Assert.NotEqual(key, ResultCacheKey.For(changed, Model, options));
        Assert.NotEqual(key, ResultCacheKey.For(Picture, new string('b', 64), options));
    }

    [Fact]
    public void APromptDepthIsPartOfTheKey()
    {
        var options = new DepthEstimationOptions();
        byte[] prompt = [1, 2, 3, 4];
        string withPrompt = ResultCacheKey.For(Picture, Model, options, prompt);
        Assert.NotEqual(ResultCacheKey.For(Picture, Model, options), withPrompt);
        Assert.NotEqual(withPrompt, ResultCacheKey.For(Picture, Model, options, [1, 2, 3, 5]));
        Assert.Equal(withPrompt, ResultCacheKey.For(Picture, Model, options, (byte[])prompt.Clone()));
    }

    [Fact]
    public void ACalibratedIdIsDerivedFromTheOutputsIdAndThePoints()
    {
        string id = ResultCacheKey.For(Picture, Model, new DepthEstimationOptions());
        KnownDepth[] known = [new(3, 4, 1.25), new(10, 2, 0.1 + 0.2)];
        string calibrated = ResultCacheKey.Calibrated(id, known);
        Assert.Matches("^[0-9a-f]{64}\\.[0-9a-f]{64}$", calibrated);
        Assert.Equal(id, ResultCacheKey.CalibratedFrom(calibrated));
        Assert.Equal(calibrated, ResultCacheKey.Calibrated(id, [new(3, 4, 1.25), new(10, 2, 0.1 + 0.2)]));
        // The metres as they are (0.1 + 0.2 is not 0.3), and the points round-trip through their text.
        Assert.NotEqual(calibrated, ResultCacheKey.Calibrated(id, [new(3, 4, 1.25), new(10, 2, 0.3)]));
        Assert.NotEqual(calibrated, ResultCacheKey.Calibrated(new string('f', 64), known));
        Assert.Equal(known, ResultCacheKey.ParseKnown(ResultCacheKey.KnownText(known)));
        Assert.Null(ResultCacheKey.ParseKnown("3,4"));

        Assert.Null(ResultCacheKey.CalibratedFrom(id));
        Assert.Null(ResultCacheKey.CalibratedFrom(Guid.NewGuid().ToString("N")));
        Assert.Null(ResultCacheKey.CalibratedFrom(calibrated.ToUpperInvariant()));
        Assert.Null(ResultCacheKey.CalibratedFrom(calibrated.Replace('.', '-')));
    }

    [Fact]
    public void EveryOptionThatChangesAResultChangesTheKey()
    {
        var settings = typeof(DepthEstimationOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        foreach (string name in NotInTheKey) Assert.Contains(settings, p => p.Name == name);
        var keyed = settings.Where(p => !NotInTheKey.Contains(p.Name)).ToList();
        Assert.NotEmpty(keyed);
        foreach (var property in keyed)
        {
            // Every value the setting can take (or several, for numbers) gives its own key.
            var keys = new HashSet<string>();
            var values = Values(property.PropertyType, property.Name);
            foreach (object? value in values)
            {
                var options = new DepthEstimationOptions();
                property.SetValue(options, value);
                keys.Add(ResultCacheKey.For(Picture, Model, options));
            }
            Assert.True(keys.Count == values.Count, $"{property.Name}: {values.Count} values gave {keys.Count} keys");
        }
    }

    [Fact]
    public void SettingsThatChangeNoNumberKeepTheKey()
    {
        string key = ResultCacheKey.For(Picture, Model, new DepthEstimationOptions());
        var other = new DepthEstimationOptions { Model = "elsewhere/model", Threads = 3, MaxPixels = 1000, LoadOnStart = false };
        Assert.Equal(key, ResultCacheKey.For(Picture, Model, other));
    }

    [Fact]
    public void ModelFingerprintIsTheFilesNotTheirPlace()
    {
        string source = Fixtures.Path("models", "depth_anything_tiny_relative");
        string a = Directory.CreateTempSubdirectory("depthsharp-fingerprint-a-").FullName;
        string b = Directory.CreateTempSubdirectory("depthsharp-fingerprint-b-").FullName;
        try
        {
            foreach (string file in Directory.GetFiles(source))
            {
                File.Copy(file, Path.Combine(a, Path.GetFileName(file)));
                File.Copy(file, Path.Combine(b, Path.GetFileName(file)));
            }
            string fingerprint = ResultCacheKey.ModelFingerprint(a);
            Assert.Equal(fingerprint, ResultCacheKey.ModelFingerprint(b));
            Assert.Equal(fingerprint, ResultCacheKey.ModelFingerprint(source));

            // A file that does not define the model changes nothing; one byte of the weights or the config does.
            File.WriteAllText(Path.Combine(b, "README.md"), "notes");
            Assert.Equal(fingerprint, ResultCacheKey.ModelFingerprint(b));
            FlipLastByte(Path.Combine(b, "model.safetensors"));
            string otherWeights = ResultCacheKey.ModelFingerprint(b);
            Assert.NotEqual(fingerprint, otherWeights);
            File.AppendAllText(Path.Combine(a, "config.json"), "\n");
            Assert.NotEqual(fingerprint, ResultCacheKey.ModelFingerprint(a));
            Assert.NotEqual(otherWeights, ResultCacheKey.ModelFingerprint(a));
        }
        finally
        {
            Directory.Delete(a, recursive: true);
            Directory.Delete(b, recursive: true);
        }
    }

    [Fact]
    public void SharedResultsRoundTripAndRefuseBrokenBytes()
    {
        float[] depth = [1.5f, float.NaN, -0f, 3e-39f, 7f, 1e30f];
        var result = new DepthResult(depth, 3, 2, DepthKind.Metric, 61.25, 170.5, FocalLengthSource.Exif, "kitti") { Coloring = DepthColoring.Linear };
        byte[] picture = [0xFF, 0xD8, 1, 2, 3];
        byte[] bytes = SharedResultCodec.Encode(result, picture, "replica-7");

        var back = SharedResultCodec.Decode(bytes);
        Assert.NotNull(back);
        Assert.Equal("replica-7", back.ComputedBy);
        Assert.Equal(picture, back.Picture);
        Assert.Equal(depth.Select(BitConverter.SingleToInt32Bits), back.Result.Depth.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(result with { Depth = back.Result.Depth }, back.Result);
        Assert.Equal(DepthColoring.Linear, back.Result.Coloring);

        Assert.Null(SharedResultCodec.Decode(bytes[..^(picture.Length + 1)]));   // the depth cut short
        var otherScheme = (byte[])bytes.Clone();
        otherScheme[3] = (byte)'9';
        Assert.Null(SharedResultCodec.Decode(otherScheme));
        Assert.Null(SharedResultCodec.Decode([]));
    }

    private static void FlipLastByte(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        bytes[^1] ^= 1;
        File.WriteAllBytes(file, bytes);
    }

    /// <summary>Distinct values for a setting of this type; a new type of setting must be added here.</summary>
    private static List<object?> Values(Type type, string name)
    {
        if (type == typeof(bool)) return [false, true];
        if (type == typeof(bool?)) return [null, false, true];
        if (type == typeof(double?)) return [null, 500.0, 500.5];
        if (type.IsEnum) return [.. Enum.GetValues(type).Cast<object?>()];
        throw new InvalidOperationException($"DepthEstimationOptions.{name} is a {type.Name}: give it test values here, and decide whether it belongs in the key");
    }
}
