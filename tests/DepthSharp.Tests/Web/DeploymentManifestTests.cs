using System.CommandLine;
using System.Text.RegularExpressions;
using DepthSharp.Cli;
using DepthSharp.Web;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace DepthSharp.Tests.Web;

/// <summary>
/// Schema-level sanity of the deployment files in deploy/ (no cluster here): kinds and names Kubernetes accepts,
/// selectors that select, ports and probes that exist, serve arguments that the command itself parses, a grace period
/// longer than the drain, and HAProxy's health checks and retries. The HAProxy file also runs for real in
/// .ci/service-test.sh.
/// </summary>
public sealed partial class DeploymentManifestTests
{
    private static readonly HashSet<(string, string)> KnownKinds =
    [
        ("apps/v1", "Deployment"), ("v1", "Service"), ("autoscaling/v2", "HorizontalPodAutoscaler"), ("batch/v1", "Job"),
        ("v1", "PersistentVolumeClaim"), ("v1", "ConfigMap"),
    ];

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DepthSharp.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("no DepthSharp.slnx above the test binaries");
    }

    private static string Kubernetes(string file) => Path.Combine(RepoRoot(), "deploy", "kubernetes", file);

    /// <summary>Every YAML document of a file, as nested dictionaries, lists and strings.</summary>
    private static List<Dictionary<object, object>> Documents(string file)
    {
        var deserializer = new DeserializerBuilder().Build();
        var parser = new Parser(new StringReader(File.ReadAllText(file)));
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
            documents.Add(deserializer.Deserialize<Dictionary<object, object>>(parser));
        return documents;
    }

    private static object? At(object node, string path)
    {
        object? current = node;
        foreach (string step in path.Split('.'))
            current = current is Dictionary<object, object> map && map.TryGetValue(step, out var next) ? next : null;
        return current;
    }

    private static string Text(object node, string path) => At(node, path) as string ?? throw new Xunit.Sdk.XunitException($"no {path}");
    private static Dictionary<object, object> Map(object node, string path) => At(node, path) as Dictionary<object, object> ?? throw new Xunit.Sdk.XunitException($"no {path}");
    private static List<object> List(object node, string path) => At(node, path) as List<object> ?? throw new Xunit.Sdk.XunitException($"no {path}");

    private static Dictionary<object, object> Find(List<Dictionary<object, object>> documents, string kind, string name) =>
        documents.Single(d => Text(d, "kind") == kind && Text(d, "metadata.name") == name);

    /// <summary>Whether every label of the selector is on the pods.</summary>
    private static void Selects(Dictionary<object, object> selector, Dictionary<object, object> podLabels, string what)
    {
        Assert.NotEmpty(selector);
        foreach (var (key, value) in selector)
            Assert.True(podLabels.TryGetValue(key, out var label) && Equals(label, value), $"{what}: selector {key}={value} is not on the pods");
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [Fact]
    public void EveryManifestHasAKnownKindAndAValidName()
    {
        var seen = new HashSet<(string, string)>();
        var files = Directory.GetFiles(Path.Combine(RepoRoot(), "deploy", "kubernetes"), "*.yaml");
        Assert.Contains(files, f => Path.GetFileName(f) == "serve.yaml");
        foreach (string file in files)
            foreach (var document in Documents(file))
            {
                string kind = Text(document, "kind"), name = Text(document, "metadata.name");
                Assert.True(KnownKinds.Contains((Text(document, "apiVersion"), kind)), $"{file}: {Text(document, "apiVersion")} {kind}");
                Assert.True(name.Length <= 63 && Dns1123Label().IsMatch(name), $"{file}: {kind} name '{name}'");
                Assert.True(seen.Add((kind, name)), $"{file}: a second {kind} {name}");
                Assert.IsType<Dictionary<object, object>>(At(document, "spec"));
            }
    }

    [Fact]
    public void ServiceDeploymentServiceAndAutoscalerFitTogether()
    {
        var serve = Documents(Kubernetes("serve.yaml"));
        var redis = Documents(Kubernetes("redis.yaml"));
        var deployment = Find(serve, "Deployment", "depthsharp");
        var pods = Map(deployment, "spec.template.metadata.labels");
        Selects(Map(deployment, "spec.selector.matchLabels"), pods, "Deployment");
        var service = Find(serve, "Service", "depthsharp");
        Selects(Map(service, "spec.selector"), pods, "Service");

        var container = (Dictionary<object, object>)Assert.Single(List(deployment, "spec.template.spec.containers"));
        Assert.False(string.IsNullOrEmpty(Text(container, "image")));
        var ports = List(container, "ports").Cast<Dictionary<object, object>>().ToDictionary(p => Text(p, "name"), p => int.Parse(Text(p, "containerPort")));
        foreach (var port in List(service, "spec.ports")) Assert.Contains(Text(port, "targetPort"), ports.Keys);

        // Readiness is the model's check, liveness the process's: paths the server maps (ScaleOutServerTests).
        Assert.Equal("/api/health/ready", Text(container, "readinessProbe.httpGet.path"));
        Assert.Equal("/api/health/live", Text(container, "livenessProbe.httpGet.path"));
        Assert.Contains(Text(container, "readinessProbe.httpGet.port"), ports.Keys);
        Assert.Contains(Text(container, "livenessProbe.httpGet.port"), ports.Keys);

        // The arguments are serve's own: parsed, and validated, by the command itself (the pod's name from the downward API).
        var env = List(container, "env").Cast<Dictionary<object, object>>().Select(e => Text(e, "name")).ToHashSet();
        var args = List(container, "args").Cast<string>().Select(a => a.Replace("$(POD_NAME)", env.Contains("POD_NAME") ? "pod-0" : a)).ToArray();
        var parse = new RootCommand { ServeCommand.Create() }.Parse(args);
        Assert.Empty(parse.Errors);
        Assert.Equal(ServeCommand.Name, parse.CommandResult.Command.Name);
        Assert.Equal(ports["http"], new Uri(parse.GetValue<string>("--urls")!).Port);
        Assert.True(parse.GetValue<bool>("--forwarded-headers"));

        // --redis names redis.yaml's Service and port.
        string[] redisAddress = parse.GetValue<string>("--redis")!.Split(':');
        var redisService = Find(redis, "Service", redisAddress[0]);
        Assert.Contains(List(redisService, "spec.ports"), p => Text(p, "port") == redisAddress[1]);

        // The kubelet's SIGKILL comes after the preStop pause and the whole drain.
        int grace = int.Parse(Text(deployment, "spec.template.spec.terminationGracePeriodSeconds"));
        var preStop = List(container, "lifecycle.preStop.exec.command").Cast<string>().ToArray();
        Assert.Equal("sleep", preStop[0]);
        Assert.True(int.Parse(preStop[1]) + parse.GetValue<int>("--shutdown-timeout") < grace, "terminationGracePeriodSeconds is shorter than preStop + --shutdown-timeout");

        // Mounted volumes are declared.
        var volumes = List(deployment, "spec.template.spec.volumes").Select(v => Text(v, "name")).ToHashSet();
        foreach (var mount in List(container, "volumeMounts")) Assert.Contains(Text(mount, "name"), volumes);

        // The autoscaler scales this Deployment on CPU, which the container requests (a utilisation needs a request).
        var hpa = Find(serve, "HorizontalPodAutoscaler", "depthsharp");
        Assert.Equal("apps/v1", Text(hpa, "spec.scaleTargetRef.apiVersion"));
        Assert.Equal("Deployment", Text(hpa, "spec.scaleTargetRef.kind"));
        Assert.Equal("depthsharp", Text(hpa, "spec.scaleTargetRef.name"));
        Assert.True(int.Parse(Text(hpa, "spec.minReplicas")) is var min && min >= 1 && min <= int.Parse(Text(hpa, "spec.maxReplicas")));
        var metric = (Dictionary<object, object>)Assert.Single(List(hpa, "spec.metrics"));
        Assert.Equal("cpu", Text(metric, "resource.name"));
        Assert.NotNull(At(container, "resources.requests.cpu"));

        // Redis: its Deployment's pods are what its Service selects, on the port the Service names.
        var redisDeployment = Find(redis, "Deployment", "depthsharp-redis");
        var redisPods = Map(redisDeployment, "spec.template.metadata.labels");
        Selects(Map(redisDeployment, "spec.selector.matchLabels"), redisPods, "Redis Deployment");
        Selects(Map(redisService, "spec.selector"), redisPods, "Redis Service");
        var redisContainer = (Dictionary<object, object>)Assert.Single(List(redisDeployment, "spec.template.spec.containers"));
        var redisPorts = List(redisContainer, "ports").Select(p => Text(p, "name")).ToHashSet();
        foreach (var port in List(redisService, "spec.ports")) Assert.Contains(Text(port, "targetPort"), redisPorts);
    }

    [Fact]
    public void HAProxyChecksHealthBalancesRoundRobinAndRetriesElsewhere()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoRoot(), "deploy", "haproxy", "haproxy.cfg"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        int backend = lines.IndexOf("backend depthsharp");
        Assert.True(backend >= 0, "no backend depthsharp");
        var section = lines.Skip(backend + 1).TakeWhile(l => !Regex.IsMatch(l, "^(global|defaults|frontend|backend|listen)\\b")).ToList();
        Assert.Contains("balance roundrobin", section);
        Assert.Contains("option httpchk", section);
        Assert.Contains("http-check send meth GET uri /api/health", section);
        Assert.Contains("http-check expect status 200", section);
        Assert.Contains(section, l => l.StartsWith("option redispatch", StringComparison.Ordinal));
        Assert.Contains(section, l => Regex.IsMatch(l, "^retries [1-9]"));
        var retryOn = Assert.Single(section, l => l.StartsWith("retry-on ", StringComparison.Ordinal)).Split(' ');
        Assert.Contains("conn-failure", retryOn);
        Assert.Contains("empty-response", retryOn);
        var servers = section.Where(l => l.StartsWith("server ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, servers.Count);
        Assert.All(servers, s => Assert.EndsWith(" check", s));

        // HAProxy waits longer than serve's own request timeout, so a slow pass ends with the replica's 504.
        var serverTimeout = Assert.Single(lines, l => l.StartsWith("timeout server ", StringComparison.Ordinal));
        var minutes = Regex.Match(serverTimeout, "^timeout server ([0-9]+)m$");
        Assert.True(minutes.Success, serverTimeout);
        Assert.True(TimeSpan.FromMinutes(int.Parse(minutes.Groups[1].Value)) > new ServeOptions().RequestTimeout);
    }
}
