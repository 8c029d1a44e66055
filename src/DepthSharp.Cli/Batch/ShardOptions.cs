using System.CommandLine;

namespace DepthSharp.Cli.Batch;

/// <summary>estimate's --shard and --shard-count: which share of the inputs this process handles.</summary>
internal sealed class ShardOptions
{
    private readonly Option<string?> _shard = new("--shard")
    {
        Description = "Process only shard I of N (I/N, I from 0; pictures split by a hash of their path relative to the input root), or auto: from a Slurm array task or a Kubernetes Indexed Job",
    };

    private readonly Option<int?> _count = new("--shard-count")
    {
        Description = "With --shard auto in a Kubernetes Indexed Job: the number of shards (the Job's completions); DEPTHSHARP_SHARD_COUNT also sets it",
    };

    public ShardOptions() =>
        _count.Validators.Add(r => { if (r.GetValue(_count) is < 1) r.AddError("--shard-count must be at least 1"); });

    /// <summary>Adds the options to the command.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_shard);
        command.Options.Add(_count);
    }

    /// <summary>The shard the command line and, for auto, the environment give; <see cref="Shard.All"/> without --shard.</summary>
    public Shard Resolve(ParseResult parse) => Resolve(parse, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="Resolve(ParseResult)"/> with the environment given.</summary>
    public Shard Resolve(ParseResult parse, Func<string, string?> environment) => parse.GetValue(_shard) switch
    {
        null => parse.GetValue(_count) is null ? Shard.All : throw new InputException("--shard-count goes with --shard auto"),
        "auto" => Shard.FromEnvironment(environment, parse.GetValue(_count)),
        var text => parse.GetValue(_count) is null ? Shard.Parse(text) : throw new InputException("--shard-count goes with --shard auto (--shard I/N gives the count itself)"),
    };
}
