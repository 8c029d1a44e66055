using System.Text.Json.Serialization.Metadata;
using DepthSharp.Models.Configs;

namespace DepthSharp.Tests.Models;

/// <summary>The backbone_config of a config.json read alone, as DPTConfig reads it, for the backbones' own tests.</summary>
internal static class BackboneConfigFiles
{
    public static BitConfig Bit(string path) => Read(path, DPTConfigJson.Default.BitConfig);

    public static Swinv2Config Swinv2(string path) => Read(path, DPTConfigJson.Default.Swinv2Config);

    private static T Read<T>(string path, JsonTypeInfo<T> info) where T : class, IBackboneConfig
    {
        using var doc = ConfigLoader.ReadDocument(path);
        if (!doc.RootElement.TryGetProperty("backbone_config", out var element)) throw new ConfigException(path, "backbone_config: missing");
        return BackboneConfigReader.Read(element, info, path, "backbone_config.");
    }
}
