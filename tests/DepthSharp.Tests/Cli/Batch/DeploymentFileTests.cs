using System.Globalization;
using System.Text.RegularExpressions;
using DepthSharp.Cli;
using DepthSharp.Cli.Batch;
using YamlDotNet.RepresentationModel;

namespace DepthSharp.Tests.Cli.Batch;

/// <summary>
/// Schema-level checks of the Kubernetes manifests under deploy/kubernetes (no cluster here): the fields an Indexed Job
/// needs, consistent with each other, and arguments the tool accepts. The Slurm files run for real in .ci/slurm-test.sh.
/// </summary>
public sealed partial class DeploymentFileTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DepthSharp.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("no DepthSharp.slnx above the test binaries");
    }

    private static YamlMappingNode Load(string name)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(RepoRoot(), "deploy", "kubernetes", name))) stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    private static YamlMappingNode Map(YamlNode node, string key) => Assert.IsType<YamlMappingNode>(((YamlMappingNode)node).Children[new YamlScalarNode(key)]);
    private static YamlSequenceNode Seq(YamlNode node, string key) => Assert.IsType<YamlSequenceNode>(((YamlMappingNode)node).Children[new YamlScalarNode(key)]);
    private static string Scalar(YamlNode node, string key) => Assert.IsType<YamlScalarNode>(((YamlMappingNode)node).Children[new YamlScalarNode(key)]).Value!;
    private static int Int(YamlNode node, string key) => int.Parse(Scalar(node, key), CultureInfo.InvariantCulture);
    private static string[] Args(YamlNode container) => Seq(container, "args").Children.Select(a => ((YamlScalarNode)a).Value!).ToArray();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    /// <summary>The one container of a Job, after the checks every Job here must pass.</summary>
    private static (YamlMappingNode Spec, YamlMappingNode Pod, YamlMappingNode Container) Job(YamlMappingNode root)
    {
        Assert.Equal("batch/v1", Scalar(root, "apiVersion"));
        Assert.Equal("Job", Scalar(root, "kind"));
        string name = Scalar(Map(root, "metadata"), "name");
        Assert.Matches(Dns1123Label(), name);
        Assert.InRange(name.Length, 1, 63);
        var spec = Map(root, "spec");
        var pod = Map(Map(spec, "template"), "spec");
        Assert.Contains(Scalar(pod, "restartPolicy"), new[] { "Never", "OnFailure" });
        var container = Assert.IsType<YamlMappingNode>(Assert.Single(Seq(pod, "containers").Children));
        Assert.Matches(Dns1123Label(), Scalar(container, "name"));
        Assert.False(string.IsNullOrWhiteSpace(Scalar(container, "image")));
        // Every mount names a declared volume.
        var volumes = Seq(pod, "volumes").Children.Select(v => Scalar(v, "name")).ToHashSet();
        Assert.All(Seq(container, "volumeMounts").Children, m => Assert.Contains(Scalar(m, "name"), volumes));
        return (spec, pod, container);
    }

    private static IEnumerable<string> MountPaths(YamlMappingNode container) => Seq(container, "volumeMounts").Children.Select(m => Scalar(m, "mountPath"));

    [Fact]
    public void IndexedJobGivesEveryIndexItsShardAndArgumentsEstimateAccepts()
    {
        var (spec, pod, container) = Job(Load("estimate-indexed-job.yaml"));
        Assert.Equal("Indexed", Scalar(spec, "completionMode"));
        int completions = Int(spec, "completions");
        Assert.InRange(Int(spec, "parallelism"), 1, completions);
        Assert.InRange(Int(spec, "maxFailedIndexes"), 0, completions);
        Assert.True(Int(spec, "backoffLimitPerIndex") >= 0);

        string[] args = Args(container);
        var parse = EstimateCommand.Create().Parse(args.Skip(1).ToArray());
        Assert.Equal("estimate", args[0]);
        Assert.Empty(parse.Errors);
        Assert.Equal("auto", args[Array.IndexOf(args, "--shard") + 1]);
        // The pictures, the model and the outputs are on the shared volume.
        foreach (var path in new[] { args[1], args[Array.IndexOf(args, "--output") + 1], args[Array.IndexOf(args, "--model") + 1] })
            Assert.Contains(MountPaths(container), m => path.StartsWith(m + "/", StringComparison.Ordinal));

        // Each index Kubernetes hands out (JOB_COMPLETION_INDEX) is its own shard of completions, with the pod's env.
        var env = Seq(container, "env").Children.ToDictionary(e => Scalar(e, "name"), e => Scalar(e, "value"));
        var shardOptions = new ShardOptions();
        var shardCommand = new System.CommandLine.Command("estimate");
        shardOptions.AddTo(shardCommand);
        var shardParse = shardCommand.Parse(["--shard", "auto"]);
        var shards = Enumerable.Range(0, completions)
            .Select(i => shardOptions.Resolve(shardParse, name => name == "JOB_COMPLETION_INDEX" ? i.ToString(CultureInfo.InvariantCulture) : env.GetValueOrDefault(name)))
            .ToList();
        Assert.Equal(Enumerable.Range(0, completions).Select(i => new Shard(i, completions)), shards);

        // podFailurePolicy: needs restartPolicy Never; exit 2 (only bad pictures left) fails the index instead of retrying it.
        Assert.Equal("Never", Scalar(pod, "restartPolicy"));
        var rules = Seq(Map(spec, "podFailurePolicy"), "rules").Children;
        var onExit = Assert.Single(rules, r => ((YamlMappingNode)r).Children.ContainsKey(new YamlScalarNode("onExitCodes")));
        Assert.Equal("FailIndex", Scalar(onExit, "action"));
        var codes = Map(onExit, "onExitCodes");
        Assert.Equal(Scalar(container, "name"), Scalar(codes, "containerName"));
        Assert.Equal("In", Scalar(codes, "operator"));
        Assert.Equal([CliErrors.SomeFailed], Seq(codes, "values").Children.Select(v => int.Parse(((YamlScalarNode)v).Value!, CultureInfo.InvariantCulture)));

        // No more kernel threads than the cores the pod asks for.
        int threads = int.Parse(args[Array.IndexOf(args, "--threads") + 1], CultureInfo.InvariantCulture);
        Assert.InRange(threads, 1, int.Parse(Scalar(Map(Map(container, "resources"), "requests"), "cpu"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public void VerifyJobChecksTheFoldersTheIndexedJobWrites()
    {
        var (_, estimatePod, estimate) = Job(Load("estimate-indexed-job.yaml"));
        var (spec, pod, container) = Job(Load("verify-job.yaml"));
        Assert.Equal(0, Int(spec, "backoffLimit"));
        string[] args = Args(container), estimateArgs = Args(estimate);
        Assert.Equal("verify", args[0]);
        Assert.Empty(VerifyCommand.Create().Parse(args.Skip(1).ToArray()).Errors);
        Assert.Equal(estimateArgs[1], args[1]);
        Assert.Equal(estimateArgs[Array.IndexOf(estimateArgs, "--output") + 1], args[Array.IndexOf(args, "--output") + 1]);
        Assert.Equal(MountPaths(estimate), MountPaths(container));
        static string Claim(YamlMappingNode p) => Scalar(Map(Assert.Single(Seq(p, "volumes").Children), "persistentVolumeClaim"), "claimName");
        Assert.Equal(Claim(estimatePod), Claim(pod));
    }
}
