using System.CommandLine;
using System.Text;

namespace DepthSharp.Cli.Queue;

/// <summary>
/// <c>depthsharp dead-letters --amqp URL --queue Q</c>: lists the messages on Q.dead (one line each: the reason they
/// were dead-lettered, rejected or delivery_limit, and the picture's path) and leaves them there.
/// </summary>
internal static class DeadLettersCommand
{
    public static Command Create()
    {
        var command = new Command("dead-letters", "List the pictures on a queue's dead-letter queue (<queue>.dead) without removing them");
        var queue = new QueueOptions();
        queue.AddTo(command);
        command.SetAction((parse, cancellationToken) => QueueErrors.Run(queue.Url(parse), async () =>
        {
            var topology = queue.Topology(parse);
            string url = queue.Url(parse);
            await using var connection = await QueueTopology.ConnectAsync(url, "depthsharp dead-letters", cancellationToken);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            await topology.DeclareAsync(channel, url, cancellationToken);
            // Each message is taken unacknowledged and so held until the channel closes, which returns them all.
            int count = 0;
            while (await channel.BasicGetAsync(topology.DeadLetterQueue, autoAck: false, cancellationToken) is { } message)
            {
                count++;
                string reason = message.BasicProperties.Headers?.TryGetValue("x-first-death-reason", out var r) == true && r is byte[] bytes
                    ? Encoding.UTF8.GetString(bytes) : "unknown";
                string picture;
                try { picture = QueueMessage.Parse(message.Body.Span).Path; }
                catch (QueueMessageException e) { picture = $"(malformed: {e.Message})"; }
                await Console.Out.WriteLineAsync($"{reason}\t{picture}");
            }
            await Console.Error.WriteLineAsync($"{count} dead letter(s) on '{topology.DeadLetterQueue}'");
            return 0;
        }));
        return command;
    }
}
