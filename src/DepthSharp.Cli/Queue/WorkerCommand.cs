using System.CommandLine;
using System.Runtime.InteropServices;
using DepthSharp.Cli.Batch;

namespace DepthSharp.Cli.Queue;

/// <summary>
/// <c>depthsharp worker --amqp URL --queue Q --output DIR</c>: estimates the pictures enqueue put on Q, one at a time,
/// into DIR as estimate would (idempotent outputs, the same recipe), each message acknowledged only once its outputs
/// are in place. Its done log is <c>DIR/.depthsharp/done-worker-HOST-PID.jsonl</c>, read by verify like a shard's.
/// Runs until SIGTERM or Ctrl+C (exit 0 after the picture in hand is finished or requeued); exit
/// <see cref="QueueTopology.RetryLater"/> when the broker is unreachable or lost.
/// </summary>
internal static class WorkerCommand
{
    /// <summary>The worker's options that do not change a picture's outputs: with the rest, its recipe is estimate's.</summary>
    public static readonly string[] OutputNeutral = [.. Recipe.OutputNeutral, .. QueueOptions.Names, "--finish-within"];

    public static Command Create()
    {
        var output = new Option<string>("--output") { Description = "Folder for <stem>.json and the --format files (the pictures' trees mirrored as enqueue found them)", DefaultValueFactory = _ => "." };
        var grace = new Option<double>("--finish-within")
        {
            Description = "On SIGTERM or Ctrl+C, seconds the picture in hand may take to finish before it is stopped and requeued (keep under the engine's kill delay; Kubernetes gives 30 s)",
            DefaultValueFactory = _ => 20,
        };
        grace.Validators.Add(r => { if (!(r.GetValue(grace) >= 0)) r.AddError("--finish-within must be 0 or more"); });
        var command = new Command("worker", "Estimate the pictures on a RabbitMQ queue filled by depthsharp enqueue, until stopped") { output, grace };
        var picture = new PictureOptions();
        picture.AddTo(command);
        var queue = new QueueOptions();
        queue.AddTo(command);
        command.SetAction((parse, _) => QueueErrors.Run(queue.Url(parse), async () =>
        {
            // The process's own stop signal: the command line's would end the process two seconds after it,
            // too soon to finish a picture (see Program.cs, which leaves termination to this command).
            using var stopping = new CancellationTokenSource();
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            var stop = stopping.Token;

            string outDir = parse.GetValue(output)!;
            Directory.CreateDirectory(outDir);
            var log = Console.Error;
            var topology = queue.Topology(parse);
            string url = queue.Url(parse);
            // Connect before the model loads: an unreachable broker is reported at once.
            await using var connection = await QueueTopology.ConnectAsync(url, $"depthsharp worker {Environment.MachineName}", stop);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: stop);
            await topology.DeclareAsync(channel, url, stop);
            var estimator = await picture.LoadEstimatorAsync(parse, log, stop);
            // A message carries a picture only: a family that needs a second input with it would fail every message.
            if (estimator.Family.ExtraInput is { Required: true } needed)
                throw new InputException($"worker: {estimator.ModelType} models need a {needed.Name} with every picture, which queue messages do not carry; use estimate --prompt-depth");
            var recipe = Recipe.FromCommandLine(parse, command, picture.Model(parse), OutputNeutral);
            using var store = new OutputStore(outDir, $"done-worker-{Environment.MachineName}-{Environment.ProcessId}.jsonl", picture.Writer(parse), recipe);
            var worker = new QueueWorker(channel, topology, new PictureProcessor(estimator, picture.Decode(parse), store, log), log);
            await worker.RunAsync(TimeSpan.FromSeconds(parse.GetValue(grace)), stop);
            var (done, requeued, deadLettered) = worker.Counts;
            await log.WriteLineAsync($"worker stopped: {done} picture(s) done, {requeued} requeued, {deadLettered} dead-lettered");
            return 0;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stopping.Cancel();
            }
        }));
        return command;
    }
}
