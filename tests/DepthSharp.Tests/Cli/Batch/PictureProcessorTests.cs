using System.Security.Cryptography;
using System.Text.Json;
using DepthSharp.Cli;
using DepthSharp.Cli.Batch;
using DepthSharp.Imaging;
using DepthSharp.Pipeline;

namespace DepthSharp.Tests.Cli.Batch;

/// <summary>The per-picture step: idempotent outputs, the done log, and verify's reading of them.</summary>
public sealed class PictureProcessorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("depthsharp-batch-").FullName;
    private static readonly Lazy<DepthEstimator> Estimator = new(() => DepthEstimator.Load(Fixtures.Path("models", "depth_anything_tiny_relative")));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Output => Path.Combine(_dir, "out");

    private InputPicture Picture(string fixture, string relativeStem)
    {
        string path = Path.Combine(_dir, "in", relativeStem + Path.GetExtension(fixture));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(Fixtures.Path("images", fixture), path, overwrite: true);
        return new InputPicture(path, relativeStem);
    }

    private static Recipe NpyRecipe(params string[] formats) => new("depth_anything_tiny_relative", new Dictionary<string, string[]> { ["--format"] = formats });

    private PictureOutcome Run(InputPicture picture, Recipe recipe, CancellationToken cancellationToken = default)
    {
        using var store = new OutputStore(Output, new Shard(1, 3).DoneLogName, new OutputWriter(recipe.Options["--format"], Colormap.Turbo), recipe);
        return new PictureProcessor(Estimator.Value, new ImageDecodeOptions(), store, TextWriter.Null).Process(picture, cancellationToken);
    }

    private List<JsonElement> DoneLines() =>
        File.ReadAllLines(Path.Combine(Output, ".depthsharp", "done-1-of-3.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void SecondRunFindsTheOutputsUpToDateAndLeavesThemAlone()
    {
        var picture = Picture("baseline_420_q75.jpg", Path.Combine("sub", "a"));
        var first = Run(picture, NpyRecipe("npy"));
        Assert.Equal(PictureStatus.Written, first.Status);
        string sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(picture.Path)));
        Assert.Equal(sha, first.Sha256);

        string json = Path.Combine(Output, "sub", "a.json"), npy = Path.Combine(Output, "sub", "a.npy");
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(json)))
        {
            var source = doc.RootElement.GetProperty("source");
            Assert.Equal("sub/a.jpg", source.GetProperty("path").GetString());
            Assert.Equal(sha, source.GetProperty("sha256").GetString());
            Assert.Equal("depth_anything_tiny_relative", source.GetProperty("model").GetString());
            Assert.Equal(["npy"], source.GetProperty("options").GetProperty("--format").EnumerateArray().Select(e => e.GetString()));
        }
        var writtenAt = (File.GetLastWriteTimeUtc(json), File.GetLastWriteTimeUtc(npy));
        byte[] bytes = File.ReadAllBytes(npy);

        var second = Run(picture, NpyRecipe("npy"));
        Assert.Equal(PictureStatus.UpToDate, second.Status);
        Assert.Empty(second.Outputs);
        Assert.Equal(writtenAt, (File.GetLastWriteTimeUtc(json), File.GetLastWriteTimeUtc(npy)));
        Assert.Equal(bytes, File.ReadAllBytes(npy));

        var lines = DoneLines();
        Assert.Equal(["written", "up-to-date"], lines.Select(l => l.GetProperty("status").GetString()));
        Assert.All(lines, l => Assert.Equal("sub/a.jpg", l.GetProperty("path").GetString()));
        Assert.All(lines, l => Assert.Equal(sha, l.GetProperty("sha256").GetString()));
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Null, l.GetProperty("error").ValueKind));
    }

    [Fact]
    public void OtherOptionsOtherBytesOrAMissingOutputMakeItStale()
    {
        var picture = Picture("baseline_420_q75.jpg", "a");
        Assert.Equal(PictureStatus.Written, Run(picture, NpyRecipe("npy")).Status);
        Assert.Equal(PictureStatus.Written, Run(picture, NpyRecipe("npy", "color")).Status);
        Assert.Equal(PictureStatus.UpToDate, Run(picture, NpyRecipe("npy", "color")).Status);
        Assert.Equal(PictureStatus.Written, Run(picture, new Recipe("another/model", NpyRecipe("npy", "color").Options)).Status);

        File.Delete(Path.Combine(Output, "a.png"));
        Assert.Equal(PictureStatus.Written, Run(picture, new Recipe("another/model", NpyRecipe("npy", "color").Options)).Status);

        Picture("progressive_420.jpg", "a");
        var changed = Run(picture, new Recipe("another/model", NpyRecipe("npy", "color").Options));
        Assert.Equal(PictureStatus.Written, changed.Status);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Fixtures.Path("images", "progressive_420.jpg")))), changed.Sha256);
    }

    [Fact]
    public void UnreadablePictureIsAPermanentFailureWithTheReason()
    {
        var picture = Picture("bad_truncated.jpg", "bad");
        var outcome = Run(picture, NpyRecipe("npy"));
        Assert.Equal(PictureStatus.Failed, outcome.Status);
        Assert.Contains("truncated", outcome.Error);
        Assert.False(File.Exists(Path.Combine(Output, "bad.json")));
        var line = Assert.Single(DoneLines());
        Assert.Equal("failed", line.GetProperty("status").GetString());
        Assert.Equal(outcome.Error, line.GetProperty("error").GetString());
    }

    [Fact]
    public void PictureThatCannotBeReadThrowsAndIsNotRecordedSoTheWorkerRequeuesIt()
    {
        var picture = Picture("baseline_420_q75.jpg", "a");
        File.Delete(picture.Path);
        var e = Assert.Throws<UnreadableInputException>(() => Run(picture, NpyRecipe("npy")));
        Assert.StartsWith("cannot read: ", e.Message);
        Assert.False(File.Exists(Path.Combine(Output, ".depthsharp", "done-1-of-3.jsonl")), "nothing recorded: a retry may read it");
        Assert.Equal(DepthSharp.Cli.Queue.Disposition.Requeue, DepthSharp.Cli.Queue.QueueWorker.Decide(null));
    }

    [Fact]
    public void VerifyCountsAPictureThatCannotBeReadAsMissing()
    {
        var good = Picture("baseline_420_q75.jpg", "good");
        var gone = Picture("progressive_420.jpg", "gone");
        foreach (var p in new[] { good, gone }) Assert.Equal(PictureStatus.Written, Run(p, NpyRecipe("npy")).Status);
        File.Delete(gone.Path);
        var report = VerifyCommand.Check([good, gone], Output, CancellationToken.None);
        Assert.Equal(1, report.Done);
        Assert.Equal([gone], report.Missing);
        Assert.Empty(report.Failed);
    }

    [Fact]
    public void CancelledBeforeItsOutputsNothingIsWrittenOrRecorded()
    {
        var picture = Picture("baseline_420_q75.jpg", "a");
        Assert.Throws<OperationCanceledException>(() => Run(picture, NpyRecipe("npy"), new CancellationToken(canceled: true)));
        Assert.False(File.Exists(Path.Combine(Output, "a.json")));
        Assert.False(File.Exists(Path.Combine(Output, ".depthsharp", "done-1-of-3.jsonl")), "nothing recorded: the log is opened at its first line");
    }

    [Fact]
    public void DoneLogNamesAreOnesVerifyReads()
    {
        Assert.Throws<ArgumentException>(() => new DoneLog(Output, "log.jsonl"));
        Assert.Throws<ArgumentException>(() => new DoneLog(Output, "done-../../x.jsonl"));
        using var log = new DoneLog(Output, "done-worker-a.jsonl");
        log.Append(new DoneRecord("x.png", "ab", PictureStatus.Failed, "bad"));
        Assert.Equal(new DoneRecord("x.png", "ab", PictureStatus.Failed, "bad"), Assert.Single(DoneLog.ReadAll(Output)));
    }

    [Fact]
    public void VerifySortsPicturesIntoDoneFailedAndMissing()
    {
        var good = Picture("baseline_420_q75.jpg", "good");
        var gone = Picture("progressive_420.jpg", "gone");
        var bad = Picture("bad_truncated.jpg", "bad");
        var fixedLater = Picture("bad_scrambled.jpg", "fixed");
        var never = Picture("baseline_444_q90.jpg", "never");
        foreach (var p in new[] { good, gone, bad }) Run(p, NpyRecipe("npy"));
        Assert.Equal(PictureStatus.Failed, Run(fixedLater, NpyRecipe("npy")).Status);
        File.Delete(Path.Combine(Output, "gone.npy"));
        // A bad picture replaced by a readable one is no longer a permanent failure: it needs a run.
        Assert.Equal(fixedLater, Picture("baseline_422_q85.jpg", "fixed"));

        var report = VerifyCommand.Check([good, gone, bad, fixedLater, never], Output, CancellationToken.None);
        Assert.Equal(1, report.Done);
        Assert.Equal([gone, fixedLater, never], report.Missing);
        var failed = Assert.Single(report.Failed);
        Assert.Equal(bad, failed.Picture);
        Assert.Contains("truncated", failed.Error);
    }
}

/// <summary>Which options of a command line make up the recipe an output records.</summary>
public sealed class RecipeTests
{
    [Fact]
    public void RecordsTheOptionsGivenThatChangeTheOutputs()
    {
        var command = EstimateCommand.Create();
        string[] args = ["pictures", "--model", "m", "--output", "o", "--threads", "2", "--shard", "1/4", "--skip-existing", "--batch-size", "8", "--format", "npy", "pfm", "--flip"];
        var parse = command.Parse(args);
        Assert.Empty(parse.Errors);
        var recipe = Recipe.FromCommandLine(parse, command, "m");
        Assert.Equal("m", recipe.Model);
        Assert.Equal(["--flip", "--format"], recipe.Options.Keys);
        Assert.Equal(["npy", "pfm"], recipe.Options["--format"]);
        Assert.Empty(recipe.Options["--flip"]);

        // Options left at their defaults (here --format and --colormap) are not recorded.
        var plain = command.Parse(["pictures", "--model", "m"]);
        Assert.Empty(Recipe.FromCommandLine(plain, command, "m").Options);
    }

    [Fact]
    public void MatchesOnlyTheSameHashModelAndOptions()
    {
        var recipe = new Recipe("m", new Dictionary<string, string[]> { ["--format"] = ["npy", "pfm"], ["--flip"] = [] });
        JsonElement Source(Recipe r, string sha) => JsonSerializer.SerializeToElement(r.Provenance("a.jpg", sha), CliJson.Default.DictionaryStringObject);
        Assert.True(recipe.Matches(Source(recipe, "ab"), "ab"));
        Assert.False(recipe.Matches(Source(recipe, "ab"), "cd"));
        Assert.False(recipe.Matches(Source(new Recipe("n", recipe.Options), "ab"), "ab"));
        Assert.False(recipe.Matches(Source(new Recipe("m", new Dictionary<string, string[]> { ["--format"] = ["npy", "pfm"] }), "ab"), "ab"));
        Assert.False(recipe.Matches(Source(new Recipe("m", new Dictionary<string, string[]> { ["--format"] = ["npy", "pfm"], ["--flip"] = [], ["--int8-weights"] = [] }), "ab"), "ab"));
    }
}
