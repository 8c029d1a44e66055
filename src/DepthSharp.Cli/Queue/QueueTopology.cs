using System.CommandLine;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace DepthSharp.Cli.Queue;

/// <summary>
/// The broker could not be reached or was lost: a one-line error naming the broker, and the exit code
/// <see cref="QueueTopology.RetryLater"/> so that an engine runs the command again later.
/// </summary>
internal sealed class BrokerUnavailableException(string message) : DepthSharpException(message);

/// <summary>
/// The work queue and its dead-letter queue, as enqueue, worker and dead-letters declare them (the same arguments
/// everywhere, since RabbitMQ refuses a second declaration that differs): Q is a durable quorum queue whose messages
/// are dead-lettered, at least once, to the quorum queue <c>Q.dead</c> when a worker rejects them (a picture that
/// cannot be read) or when they have been returned more than --delivery-limit times (a worker failing or dying on
/// them each time).
/// </summary>
internal sealed record QueueTopology(string Queue, int DeliveryLimit)
{
    /// <summary>Exit code when the broker is unreachable or lost: EX_TEMPFAIL, try again later.</summary>
    public const int RetryLater = 75;

    /// <summary>The default of --delivery-limit.</summary>
    public const int DefaultDeliveryLimit = 3;

    /// <summary>The dead-letter queue's name.</summary>
    public string DeadLetterQueue => Queue + ".dead";

    /// <summary>The work queue's arguments.</summary>
    public Dictionary<string, object?> QueueArguments() => new()
    {
        ["x-queue-type"] = "quorum",
        ["x-delivery-limit"] = DeliveryLimit,
        // The default exchange routes by queue name straight to Q.dead.
        ["x-dead-letter-exchange"] = "",
        ["x-dead-letter-routing-key"] = DeadLetterQueue,
        // At-least-once dead-lettering (the default is at-most-once, which may drop a dead letter) needs reject-publish.
        ["x-dead-letter-strategy"] = "at-least-once",
        ["x-overflow"] = "reject-publish",
    };

    /// <summary>The dead-letter queue's arguments: a quorum queue, so its letters survive a broker node's loss too.</summary>
    public static Dictionary<string, object?> DeadLetterArguments() => new() { ["x-queue-type"] = "quorum" };

    /// <summary>Declares both queues (creating them, or checking that they exist with these arguments).</summary>
    public async Task DeclareAsync(IChannel channel, string url, CancellationToken cancellationToken)
    {
        try
        {
            await channel.QueueDeclareAsync(DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, DeadLetterArguments(), cancellationToken: cancellationToken);
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false, QueueArguments(), cancellationToken: cancellationToken);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406)
        {
            throw new InputException($"queue '{Queue}' or '{DeadLetterQueue}' on {Redact(url)} exists with other arguments than a quorum queue with --delivery-limit {DeliveryLimit} ({e.ShutdownReason.ReplyText}); give the --delivery-limit it was declared with, or delete it");
        }
    }

    /// <summary>Connects, turning every way of not reaching the broker into <see cref="BrokerUnavailableException"/>.</summary>
    public static async Task<IConnection> ConnectAsync(string url, string clientName, CancellationToken cancellationToken)
    {
        ConnectionFactory factory;
        try { factory = new ConnectionFactory { Uri = new Uri(url), ClientProvidedName = clientName, AutomaticRecoveryEnabled = false }; }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            throw new InputException($"--amqp '{Redact(url)}' is not an amqp:// or amqps:// URL ({e.Message})");
        }
        try { return await factory.CreateConnectionAsync(cancellationToken); }
        catch (BrokerUnreachableException e) when (Chain(e).OfType<AuthenticationFailureException>().FirstOrDefault() is { } refused)
        {
            // Wrong credentials or vhost: running again will not help.
            throw new InputException($"the RabbitMQ broker at {Redact(url)} refused the login: {refused.Message}");
        }
        catch (BrokerUnreachableException e)
        {
            throw new BrokerUnavailableException($"cannot reach the RabbitMQ broker at {Redact(url)}: {Innermost(e).Message}");
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationInterruptedException)
        {
            throw new BrokerUnavailableException($"cannot reach the RabbitMQ broker at {Redact(url)}: {e.Message}");
        }
    }

    /// <summary>The URL without its password, as it may be printed.</summary>
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.UserInfo.Contains(':')) return url;
        var builder = new UriBuilder(uri) { Password = "***" };
        return builder.Uri.ToString();
    }

    private static Exception Innermost(Exception e) => Chain(e).Last();

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException) yield return x;
    }
}

/// <summary>The --amqp, --queue and --delivery-limit options enqueue, worker and dead-letters share.</summary>
internal sealed class QueueOptions
{
    private readonly Option<string> _amqp = new("--amqp")
    {
        Description = "The RabbitMQ broker, amqp://user:password@host:port/vhost (DEPTHSHARP_AMQP also sets it)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("DEPTHSHARP_AMQP") ?? "amqp://guest:guest@localhost:5672/",
    };

    private readonly Option<string> _queue = new("--queue") { Description = "The work queue (a quorum queue; pictures that keep failing go to <queue>.dead)", Required = true };

    private readonly Option<int> _deliveryLimit = new("--delivery-limit")
    {
        Description = "Returns of a message (a worker failing, stopping or dying on it) before it is dead-lettered; every command declaring the queue must give the same",
        DefaultValueFactory = _ => QueueTopology.DefaultDeliveryLimit,
    };

    public QueueOptions() =>
        _deliveryLimit.Validators.Add(r => { if (r.GetValue(_deliveryLimit) < 1) r.AddError("--delivery-limit must be at least 1"); });

    /// <summary>The options that do not change a picture's outputs (left out of its recipe).</summary>
    public static readonly string[] Names = ["--amqp", "--queue", "--delivery-limit"];

    /// <summary>Adds the options to the command.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(_amqp);
        command.Options.Add(_queue);
        command.Options.Add(_deliveryLimit);
    }

    /// <summary>The broker's URL.</summary>
    public string Url(ParseResult parse) => parse.GetValue(_amqp)!;

    /// <summary>The queues the command line names.</summary>
    public QueueTopology Topology(ParseResult parse) => new(parse.GetValue(_queue)!, parse.GetValue(_deliveryLimit));
}

/// <summary>How the queue commands end when the broker is unreachable or lost.</summary>
internal static class QueueErrors
{
    /// <summary>
    /// Runs the command's body; the broker unreachable, or the connection lost mid-run, ends it with one line naming
    /// the broker and <see cref="QueueTopology.RetryLater"/>. Other errors are CliErrors' to report.
    /// </summary>
    public static Task<int> Run(string url, Func<Task<int>> body) => CliErrors.Run(async () =>
    {
        try { return await body(); }
        catch (BrokerUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return QueueTopology.RetryLater;
        }
        catch (AlreadyClosedException e)
        {
            await Console.Error.WriteLineAsync($"error: lost the RabbitMQ broker at {QueueTopology.Redact(url)}: {e.ShutdownReason?.ReplyText ?? e.Message}");
            return QueueTopology.RetryLater;
        }
    });
}
