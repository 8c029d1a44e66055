using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace DepthSharp.Cli.Batch;

/// <summary>
/// One shard of a static split: shard <see cref="Index"/> (from 0) of <see cref="Count"/>. Every process computes the
/// same split on its own, because a picture's shard depends only on its path relative to the input root.
/// </summary>
internal sealed record Shard(int Index, int Count)
{
    /// <summary>The whole input as one shard (a run without --shard).</summary>
    public static readonly Shard All = new(0, 1);

    /// <summary>The done log's name for this shard, e.g. <c>done-2-of-4.jsonl</c>.</summary>
    public string DoneLogName => $"done-{Index}-of-{Count}.jsonl";

    /// <summary>Whether this shard processes the picture with this path relative to the input root.</summary>
    public bool Owns(string relativePath) => Of(relativePath, Count) == Index;

    /// <summary>
    /// The shard of a relative path: the first 8 bytes of the SHA-256 of its UTF-8 bytes (separators written '/', so
    /// Windows and Linux agree), read big-endian, modulo <paramref name="count"/>. string.GetHashCode is randomised
    /// per process and so cannot be used.
    /// </summary>
    public static int Of(string relativePath, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(relativePath.Replace('\\', '/')), digest);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(digest) % (ulong)count);
    }

    /// <summary>Parses <c>I/N</c> with 0 ≤ I &lt; N.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
            throw new InputException($"--shard '{text}' is not I/N (shard I of N, I from 0) or auto");
        return Checked(index, count, $"--shard {text}");
    }

    /// <summary>
    /// The shard a job engine gave this process. Slurm job arrays: SLURM_ARRAY_TASK_ID, _COUNT, _MIN and _STEP, so
    /// <c>--array=1-7:2</c> gives shards 0–3 of 4. Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with the count (the
    /// Job's completions) from <paramref name="shardCount"/> (--shard-count) or DEPTHSHARP_SHARD_COUNT, since a pod is
    /// not told it. Neither, or an incomplete set, is an error naming what is missing.
    /// </summary>
    public static Shard FromEnvironment(Func<string, string?> env, int? shardCount)
    {
        if (env("SLURM_ARRAY_TASK_ID") is { } slurmId)
        {
            int id = Variable(env, "SLURM_ARRAY_TASK_ID", slurmId);
            int count = Variable(env, "SLURM_ARRAY_TASK_COUNT");
            int min = Variable(env, "SLURM_ARRAY_TASK_MIN");
            int step = env("SLURM_ARRAY_TASK_STEP") is { } s ? Variable(env, "SLURM_ARRAY_TASK_STEP", s) : 1;
            if (step < 1 || (id - min) % step != 0)
                throw new InputException($"--shard auto: Slurm array task {id} is not on the array's step ({min} + k×{step}); submit an evenly spaced array such as --array=0-{count - 1}");
            return Checked((id - min) / step, count, $"--shard auto (SLURM_ARRAY_TASK_ID={id}, MIN={min}, STEP={step}, COUNT={count}; the array must be evenly spaced)");
        }
        if (env("JOB_COMPLETION_INDEX") is { } k8sIndex)
        {
            int index = Variable(env, "JOB_COMPLETION_INDEX", k8sIndex);
            int count = shardCount ?? (env("DEPTHSHARP_SHARD_COUNT") is { } c
                ? Variable(env, "DEPTHSHARP_SHARD_COUNT", c)
                : throw new InputException("--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but the number of shards is not: pass --shard-count N or set DEPTHSHARP_SHARD_COUNT to the Job's completions"));
            return Checked(index, count, $"--shard auto (JOB_COMPLETION_INDEX={index}, shard count {count})");
        }
        throw new InputException("--shard auto: neither a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) is in the environment; pass --shard I/N");
    }

    private static int Variable(Func<string, string?> env, string name, string? value = null)
    {
        value ??= env(name) ?? throw new InputException($"--shard auto: SLURM_ARRAY_TASK_ID is set but {name} is not");
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
            throw new InputException($"--shard auto: {name}='{value}' is not an integer");
        return v;
    }

    private static Shard Checked(int index, int count, string what)
    {
        if (count < 1) throw new InputException($"{what}: the number of shards must be at least 1");
        if (index < 0 || index >= count) throw new InputException($"{what}: the shard index must be from 0 to {count - 1}");
        return new Shard(index, count);
    }
}
