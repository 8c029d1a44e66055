using System.Threading.Channels;
using DepthSharp.Cli.Batch;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace DepthSharp.Cli.Queue;

/// <summary>What a worker tells the broker about a message it took.</summary>
internal enum Disposition
{
    /// <summary>The outputs are in place (written now or already): acknowledge, the message is done.</summary>
    Ack,

    /// <summary>Something that may pass (the input not readable yet, the disk, a stop): return it; the delivery limit bounds the returns.</summary>
    Requeue,

    /// <summary>No retry can help (a picture that cannot be decoded, a malformed message): reject to the dead-letter queue.</summary>
    DeadLetter,
}

/// <summary>
/// A worker's loop: takes one message at a time (prefetch 1) from the queue, runs <see cref="PictureProcessor"/> on
/// it and only then acknowledges, requeues or dead-letters it (<see cref="Decide"/>). A stop (SIGTERM, Ctrl+C) cancels
/// the consumer at once, gives the picture in hand up to the grace period to finish, and else cancels its forward pass
/// and requeues it; a picture is never left half-written, since the per-picture step commits whole or not at all.
/// </summary>
internal sealed class QueueWorker(IChannel channel, QueueTopology topology, PictureProcessor step, TextWriter log)
{
    /// <summary>A message taken from the queue (its body copied: the client reuses the buffer after the handler).</summary>
    private sealed record Delivery(ulong Tag, byte[] Body, long? DeliveryCount);

    /// <summary>Pictures acknowledged, requeued and dead-lettered so far.</summary>
    public (int Done, int Requeued, int DeadLettered) Counts => (_done, _requeued, _deadLettered);

    private int _done, _requeued, _deadLettered;

    /// <summary>What to do with a message whose picture ended with <paramref name="status"/> (null: the step threw).</summary>
    public static Disposition Decide(PictureStatus? status) => status switch
    {
        PictureStatus.Written or PictureStatus.UpToDate => Disposition.Ack,
        PictureStatus.Failed => Disposition.DeadLetter,
        _ => Disposition.Requeue,
    };

    /// <summary>Consumes until <paramref name="stop"/> fires or the connection is lost (AlreadyClosedException).</summary>
    public async Task RunAsync(TimeSpan grace, CancellationToken stop)
    {
        await channel.BasicQosAsync(prefetchSize: 0, prefetchCount: 1, global: false, stop);
        var deliveries = System.Threading.Channels.Channel.CreateUnbounded<Delivery>(new UnboundedChannelOptions { SingleReader = true });
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, e) =>
        {
            long? count = e.BasicProperties.Headers?.TryGetValue("x-delivery-count", out var c) == true && c is long n ? n : null;
            deliveries.Writer.TryWrite(new Delivery(e.DeliveryTag, e.Body.ToArray(), count));
            return Task.CompletedTask;
        };
        channel.ChannelShutdownAsync += (_, e) =>
        {
            deliveries.Writer.TryComplete(new RabbitMQ.Client.Exceptions.AlreadyClosedException(e));
            return Task.CompletedTask;
        };
        string consumerTag = await channel.BasicConsumeAsync(topology.Queue, autoAck: false, consumer, stop);
        await log.WriteLineAsync($"worker: consuming '{topology.Queue}' (dead letters to '{topology.DeadLetterQueue}')");
        try
        {
            while (await deliveries.Reader.WaitToReadAsync(stop))
                while (!stop.IsCancellationRequested && deliveries.Reader.TryRead(out var delivery))
                    await HandleAsync(delivery, grace, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        // Stopping: no more deliveries; one delivered but not started goes back untouched.
        await channel.BasicCancelAsync(consumerTag, noWait: false, CancellationToken.None);
        while (deliveries.Reader.TryRead(out var left))
            await channel.BasicNackAsync(left.Tag, multiple: false, requeue: true, CancellationToken.None);
    }

    private async Task HandleAsync(Delivery delivery, TimeSpan grace, CancellationToken stop)
    {
        QueueMessage message;
        try { message = QueueMessage.Parse(delivery.Body); }
        catch (QueueMessageException e)
        {
            await log.WriteLineAsync($"error: {e.Message}; dead-lettered");
            await SettleAsync(delivery, Disposition.DeadLetter);
            return;
        }
        // The picture in hand gets the grace period after a stop before its forward pass is cancelled.
        using var work = new CancellationTokenSource();
        using var onStop = stop.Register(() => work.CancelAfter(grace));
        Disposition disposition;
        try
        {
            var outcome = await Task.Run(() => step.Process(message.ToInput(), work.Token), CancellationToken.None);
            disposition = Decide(outcome.Status);
            await log.WriteLineAsync(outcome.Status switch
            {
                PictureStatus.Written => $"{message.Path}: {string.Join(", ", outcome.Outputs)}",
                PictureStatus.UpToDate => $"{message.Path}: up to date",
                _ => $"error: {outcome.Error}; dead-lettered",
            });
        }
        catch (OperationCanceledException) when (work.IsCancellationRequested)
        {
            await log.WriteLineAsync($"{message.Path}: stopped before its outputs were written; requeued");
            disposition = Disposition.Requeue;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Anything else may pass on another try or another machine; the delivery limit ends the tries.
            await log.WriteLineAsync($"error: {message.Path}: {e.Message}; requeued (delivery {(delivery.DeliveryCount ?? 0) + 1} of at most {topology.DeliveryLimit + 1})");
            disposition = Decide(null);
        }
        await SettleAsync(delivery, disposition);
    }

    private async Task SettleAsync(Delivery delivery, Disposition disposition)
    {
        switch (disposition)
        {
            case Disposition.Ack:
                await channel.BasicAckAsync(delivery.Tag, multiple: false, CancellationToken.None);
                _done++;
                break;
            case Disposition.Requeue:
                await channel.BasicNackAsync(delivery.Tag, multiple: false, requeue: true, CancellationToken.None);
                _requeued++;
                break;
            default:
                await channel.BasicRejectAsync(delivery.Tag, requeue: false, CancellationToken.None);
                _deadLettered++;
                break;
        }
    }
}
