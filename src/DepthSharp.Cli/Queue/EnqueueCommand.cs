using System.CommandLine;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace DepthSharp.Cli.Queue;

/// <summary>
/// <c>depthsharp enqueue INPUTS… --amqp URL --queue Q</c>: one persistent message per picture (see
/// <see cref="QueueMessage"/>) on the quorum queue Q, each confirmed by the broker before the command counts it, so an
/// exit code 0 means every picture is on the queue.
/// </summary>
internal static class EnqueueCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "PNG or JPEG pictures, folders (walked recursively; outputs mirror the tree) or globs, at the same paths on every worker", Arity = ArgumentArity.OneOrMore };
        var command = new Command("enqueue", "Put one message per picture on a RabbitMQ quorum queue for depthsharp worker") { inputs };
        var queue = new QueueOptions();
        queue.AddTo(command);
        command.SetAction((parse, cancellationToken) => QueueErrors.Run(queue.Url(parse), async () =>
        {
            var pictures = InputExpander.Expand(parse.GetValue(inputs)!);
            if (pictures.Count == 0) throw new InputException("no PNG or JPEG pictures in the given inputs");
            var topology = queue.Topology(parse);
            string url = queue.Url(parse);
            await using var connection = await QueueTopology.ConnectAsync(url, "depthsharp enqueue", cancellationToken);
            // Publisher confirms: each publish returns once the broker has the message (quorum queue: on a majority).
            await using var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            await topology.DeclareAsync(channel, url, cancellationToken);
            foreach (var picture in pictures)
            {
                var message = QueueMessage.For(picture);
                var properties = new BasicProperties
                {
                    Persistent = true,
                    ContentType = QueueMessage.ContentType,
                    MessageId = message.RelativePath,
                };
                try { await channel.BasicPublishAsync("", topology.Queue, mandatory: true, properties, message.ToJson(), cancellationToken); }
                catch (PublishException)
                {
                    throw new BrokerUnavailableException($"the RabbitMQ broker at {QueueTopology.Redact(url)} refused {message.RelativePath} for '{topology.Queue}'; pictures before it are on the queue (enqueue again: workers skip pictures already done)");
                }
            }
            await Console.Error.WriteLineAsync($"enqueued {pictures.Count} picture(s) on '{topology.Queue}' at {QueueTopology.Redact(url)}");
            return 0;
        }));
        return command;
    }
}
