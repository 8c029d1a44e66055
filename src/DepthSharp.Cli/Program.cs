using System.CommandLine;
using DepthSharp.Cli;
using DepthSharp.Cli.Batch;
using DepthSharp.Cli.Queue;

var worker = WorkerCommand.Create();
var root = new RootCommand("DepthSharp: monocular depth estimation in managed .NET")
{
    EstimateCommand.Create(),
    VerifyCommand.Create(),
    EnqueueCommand.Create(),
    worker,
    DeadLettersCommand.Create(),
    PreprocessCommand.Create(),
    BenchCommand.Create(),
    ConvertCommand.Create(),
    BenchDecodeCommand.Create(),
    ServeCommand.Create(),
    HubCommands.Download(),
    HubCommands.Inspect(),
};
var parse = root.Parse(args);
// The worker handles SIGTERM itself: the default would end the process two seconds after it, mid-picture.
var invocation = new InvocationConfiguration();
if (parse.CommandResult.Command == worker) invocation.ProcessTerminationTimeout = null;
return await parse.InvokeAsync(invocation);
