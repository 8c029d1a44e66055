using System.CommandLine;
using DepthSharp.Cli;
using DepthSharp.Cli.Batch;

namespace DepthSharp.Tests.Cli.Batch;

/// <summary>The static split: the stable hash, --shard I/N, and --shard auto from Slurm's and Kubernetes' variables.</summary>
public sealed class ShardTests
{
    // Expected shards computed outside .NET: Python's hashlib, int.from_bytes(sha256(path.encode()).digest()[:8], "big") % N.
    [Theory]
    [InlineData("a00.jpg", 4, 0)]
    [InlineData("a00.jpg", 7, 6)]
    [InlineData("sub/b01.png", 7, 5)]
    [InlineData("photos/2024/IMG_0001.JPG", 4, 3)]
    [InlineData("photos/2024/IMG_0001.JPG", 1000, 683)]
    [InlineData("é/ü.png", 4, 2)]
    [InlineData("é/ü.png", 1000, 38)]
    public void ShardOfAPathIsTheFirstEightBytesOfItsSha256ModuloTheCount(string path, int count, int expected)
    {
        Assert.Equal(expected, Shard.Of(path, count));
        Assert.Equal(expected, Shard.Of(path.Replace('/', '\\'), count));
    }

    [Fact]
    public void TwoHundredPathsSpreadOverFourShards()
    {
        var sizes = Enumerable.Range(0, 200).Select(i => $"dir{i % 7}/picture{i:D4}.jpg").GroupBy(p => Shard.Of(p, 4)).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([0, 1, 2, 3], sizes.Keys.Order());
        Assert.All(sizes.Values, n => Assert.InRange(n, 30, 70));
    }

    [Theory]
    [InlineData("0/1", 0, 1)]
    [InlineData("3/4", 3, 4)]
    public void ParsesIndexOfCount(string text, int index, int count) => Assert.Equal(new Shard(index, count), Shard.Parse(text));

    [Theory]
    [InlineData("4/4", "from 0 to 3")]
    [InlineData("0/0", "at least 1")]
    [InlineData("-1/4", "is not I/N")]
    [InlineData("1", "is not I/N")]
    [InlineData("a/b", "is not I/N")]
    public void RejectsBadShards(string text, string reason) => Assert.Contains(reason, Assert.Throws<InputException>(() => Shard.Parse(text)).Message);

    private static Func<string, string?> Env(params (string Name, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    [Theory]
    [InlineData("0", "4", "0", "1", 0, 4)]     // --array=0-3
    [InlineData("3", "4", "0", "1", 3, 4)]
    [InlineData("5", "4", "1", "2", 2, 4)]     // --array=1-7:2: tasks 1, 3, 5, 7
    [InlineData("12", "3", "10", "1", 2, 3)]   // --array=10-12
    public void SlurmArrayTaskBecomesItsShard(string id, string count, string min, string step, int index, int shards)
    {
        var env = Env(("SLURM_ARRAY_TASK_ID", id), ("SLURM_ARRAY_TASK_COUNT", count), ("SLURM_ARRAY_TASK_MIN", min), ("SLURM_ARRAY_TASK_STEP", step));
        Assert.Equal(new Shard(index, shards), Shard.FromEnvironment(env, shardCount: null));
    }

    [Fact]
    public void SlurmArrayThatIsNotEvenlySpacedIsRefused()
    {
        // --array=0,1,5: Slurm gives COUNT 3, MIN 0, STEP 1, so task 5 would be shard 5 of 3.
        var env = Env(("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_MIN", "0"), ("SLURM_ARRAY_TASK_STEP", "1"));
        Assert.Contains("evenly spaced", Assert.Throws<InputException>(() => Shard.FromEnvironment(env, null)).Message);
        var offStep = Env(("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_STEP", "2"));
        Assert.Contains("not on the array's step", Assert.Throws<InputException>(() => Shard.FromEnvironment(offStep, null)).Message);
    }

    [Fact]
    public void SlurmTaskOutsideAnArrayNamesTheMissingVariable()
    {
        var env = Env(("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_MIN", "0"));
        Assert.Contains("SLURM_ARRAY_TASK_COUNT is not", Assert.Throws<InputException>(() => Shard.FromEnvironment(env, null)).Message);
    }

    [Fact]
    public void NoEngineIsAnErrorWithTheReason()
    {
        var message = Assert.Throws<InputException>(() => Shard.FromEnvironment(Env(), 4)).Message;
        Assert.Contains("SLURM_ARRAY_TASK_ID", message);
        Assert.Contains("JOB_COMPLETION_INDEX", message);
    }

    /// <summary>--shard and --shard-count as estimate parses them, resolved against the given environment.</summary>
    private static Shard Resolve(string[] args, params (string Name, string Value)[] vars)
    {
        var options = new ShardOptions();
        var command = new Command("estimate");
        options.AddTo(command);
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        return options.Resolve(parse, Env(vars));
    }

    [Fact]
    public void KubernetesIndexTakesItsCountFromTheOptionOrTheEnvironment()
    {
        Assert.Equal(new Shard(2, 5), Resolve(["--shard", "auto", "--shard-count", "5"], ("JOB_COMPLETION_INDEX", "2")));
        Assert.Equal(new Shard(2, 8), Resolve(["--shard", "auto"], ("JOB_COMPLETION_INDEX", "2"), ("DEPTHSHARP_SHARD_COUNT", "8")));
        // The command line wins over the environment.
        Assert.Equal(new Shard(0, 3), Resolve(["--shard", "auto", "--shard-count", "3"], ("JOB_COMPLETION_INDEX", "0"), ("DEPTHSHARP_SHARD_COUNT", "8")));
    }

    [Fact]
    public void KubernetesIndexWithoutACountOrOutOfRangeIsAnError()
    {
        Assert.Contains("--shard-count N or set DEPTHSHARP_SHARD_COUNT", Assert.Throws<InputException>(() => Resolve(["--shard", "auto"], ("JOB_COMPLETION_INDEX", "2"))).Message);
        Assert.Contains("from 0 to 3", Assert.Throws<InputException>(() => Resolve(["--shard", "auto", "--shard-count", "4"], ("JOB_COMPLETION_INDEX", "4"))).Message);
        Assert.Contains("not an integer", Assert.Throws<InputException>(() => Resolve(["--shard", "auto"], ("JOB_COMPLETION_INDEX", "x"), ("DEPTHSHARP_SHARD_COUNT", "8"))).Message);
    }

    [Fact]
    public void WithoutShardTheWholeInputIsOneShard()
    {
        Assert.Equal(Shard.All, Resolve([], ("JOB_COMPLETION_INDEX", "2"), ("DEPTHSHARP_SHARD_COUNT", "8")));
        Assert.Equal(new Shard(1, 4), Resolve(["--shard", "1/4"], ("JOB_COMPLETION_INDEX", "2")));
        Assert.Throws<InputException>(() => Resolve(["--shard", "1/4", "--shard-count", "4"]));
    }
}
