using System.CommandLine;
using System.Text;
using System.Text.Json;
using DepthSharp.Cli;
using DepthSharp.Cli.Batch;
using DepthSharp.Cli.Queue;

namespace DepthSharp.Tests.Cli.Queue;

/// <summary>
/// The queue commands' logic that needs no broker: the message format, the queues' arguments, what a worker does with
/// each outcome, the broker URL as printed, and the exit code when the broker cannot be reached. The broker itself is
/// tested end to end by .ci/rabbitmq-test.sh.
/// </summary>
public sealed class QueueTests
{
    private const string Root = "/data";

    [Fact]
    public void MessageIsTheAbsolutePathAndThePathRelativeToTheInputRoot()
    {
        var picture = new InputPicture(Path.Combine(Root, "photos", "sub", "a.jpg"), Path.Combine("sub", "a"));
        var message = QueueMessage.For(picture);
        using var doc = JsonDocument.Parse(message.ToJson());
        Assert.Equal(["path", "relative_path"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Path.Combine(Root, "photos", "sub", "a.jpg"), doc.RootElement.GetProperty("path").GetString());
        Assert.Equal("sub/a.jpg", doc.RootElement.GetProperty("relative_path").GetString());

        var input = QueueMessage.Parse(message.ToJson()).ToInput();
        Assert.Equal(picture.Path, input.Path);
        Assert.Equal(Path.Combine("sub", "a"), input.RelativeStem.Replace('/', Path.DirectorySeparatorChar));
        Assert.Equal("sub/a.jpg", input.RelativePath.Replace('\\', '/'));
    }

    [Fact]
    public void ParsesAMessageWrittenByHand()
    {
        string path = Path.Combine(Root, "x", "b.png");
        var message = QueueMessage.Parse(Encoding.UTF8.GetBytes($$"""{"relative_path": "deep/er/b.png", "path": {{JsonSerializer.Serialize(path)}}, "extra": 1}"""));
        Assert.Equal(new QueueMessage(path, "deep/er/b.png"), message);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"path": "/data/a.jpg"}""")]
    [InlineData("""{"path": 3, "relative_path": "a.jpg"}""")]
    [InlineData("""{"path": "relative/a.jpg", "relative_path": "a.jpg"}""")]
    [InlineData("""{"path": "/data/a.jpg", "relative_path": ""}""")]
    [InlineData("""{"path": "/data/a.jpg", "relative_path": "../a.jpg"}""")]
    [InlineData("""{"path": "/data/a.jpg", "relative_path": "sub/../../a.jpg"}""")]
    [InlineData("""{"path": "/data/a.jpg", "relative_path": "/etc/a.jpg"}""")]
    [InlineData("""{"path": "/data/a.jpg", "relative_path": "sub//a.jpg"}""")]
    public void RefusesAMessageThatIsMalformedOrWouldWriteOutsideTheOutputFolder(string body)
    {
        Assert.Throws<QueueMessageException>(() => QueueMessage.Parse(Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void WorkQueueIsAQuorumQueueWithADeliveryLimitAndAnAtLeastOnceDeadLetterQueue()
    {
        var topology = new QueueTopology("pictures", 4);
        Assert.Equal("pictures.dead", topology.DeadLetterQueue);
        var expected = new Dictionary<string, object?>
        {
            ["x-queue-type"] = "quorum",
            ["x-delivery-limit"] = 4,
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = "pictures.dead",
            ["x-dead-letter-strategy"] = "at-least-once",
            ["x-overflow"] = "reject-publish",
        };
        Assert.Equal(expected.OrderBy(p => p.Key), topology.QueueArguments().OrderBy(p => p.Key));
        Assert.Equal(new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, QueueTopology.DeadLetterArguments());
    }

    [Theory]
    [InlineData("Written", "Ack")]
    [InlineData("UpToDate", "Ack")]
    [InlineData("Failed", "DeadLetter")]
    [InlineData(null, "Requeue")]
    public void OutputsInPlaceAreAcknowledgedBadPicturesDeadLetteredAndErrorsRequeued(string? status, string expected) =>
        Assert.Equal(Enum.Parse<Disposition>(expected), QueueWorker.Decide(status is null ? null : Enum.Parse<PictureStatus>(status)));

    [Fact]
    public void PrintedUrlHidesThePassword()
    {
        Assert.Equal("amqp://worker:***@broker.example:5673/batch", QueueTopology.Redact("amqp://worker:s3cret@broker.example:5673/batch"));
        Assert.Equal("amqp://broker.example:5672/", QueueTopology.Redact("amqp://broker.example:5672/"));
    }

    [Fact]
    public void WorkerRecordsTheSameRecipeAsEstimateForTheSameOptions()
    {
        var estimate = EstimateCommand.Create();
        var worker = WorkerCommand.Create();
        var estimateParse = new RootCommand { estimate }.Parse("estimate in --model m --output o --format npy color --threads 1 --flip");
        var workerParse = new RootCommand { worker }.Parse("worker --amqp amqp://h/ --queue q --delivery-limit 5 --finish-within 3 --model m --output o --format npy color --threads 1 --flip");
        Assert.Empty(estimateParse.Errors);
        Assert.Empty(workerParse.Errors);
        var fromEstimate = Recipe.FromCommandLine(estimateParse, estimate, "m").Provenance("a.jpg", "00");
        var fromWorker = Recipe.FromCommandLine(workerParse, worker, "m", WorkerCommand.OutputNeutral).Provenance("a.jpg", "00");
        Assert.Equal(JsonSerializer.Serialize(fromEstimate), JsonSerializer.Serialize(fromWorker));
        Assert.Equal(["--flip", "--format"], ((Dictionary<string, object?>)fromWorker["options"]!).Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("enqueue")]
    [InlineData("worker")]
    [InlineData("dead-letters")]
    public void UnreachableBrokerIsOneLineNamingItAndTheRetryExitCode(string command)
    {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        string url = "amqp://user:pw@127.0.0.1:1/";
        string[] args = command switch
        {
            "enqueue" => [command, Fixtures.Path("images", "baseline_420_q75.jpg"), "--amqp", url, "--queue", "q"],
            "worker" => [command, "--amqp", url, "--queue", "q", "--output", Path.GetTempPath(), "--model", Fixtures.Path("models", "depth_anything_tiny_relative")],
            _ => [command, "--amqp", url, "--queue", "q"],
        };
        var (code, stdout, stderr) = CliProcess.Run(TimeSpan.FromMinutes(2), args);
        Assert.Equal(75, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: cannot reach the RabbitMQ broker at amqp://user:***@127.0.0.1:1/", line);
        Assert.DoesNotContain("pw", line);
    }
}
