using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Models;

/// <summary>A fixture model's preprocessor_config.json with one edit must be refused through the real entry point, naming the file and field.</summary>
internal static class ProcessorConfigRefusal
{
    /// <param name="dir">A scratch folder for the edited file.</param>
    /// <param name="fixtureModel">The fixture model whose preprocessor_config.json is edited.</param>
    /// <param name="from">Text the file holds (checked, so a fixture change cannot make the edit a no-op).</param>
    /// <param name="to">What replaces it.</param>
    /// <param name="field">The field the refusal must name.</param>
    public static void AssertRefused(string dir, string fixtureModel, string from, string to, string field)
    {
        string text = File.ReadAllText(Fixtures.Path("models", fixtureModel, "preprocessor_config.json"));
        Assert.Contains(from, text);
        string path = Path.Combine(dir, "preprocessor_config.json");
        File.WriteAllText(path, text.Replace(from, to));
        var e = Assert.Throws<ConfigException>(() => ModelFamilies.LoadProcessor(path));
        Assert.Contains("preprocessor_config.json", e.Message);
        Assert.Contains(field + ":", e.Message);
    }
}
