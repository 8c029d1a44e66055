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
    RandomCheckpointCommand.Create(),
};
var parse = root.Parse(args);
// serve drains the requests in flight through the web host for up to --shutdown-timeout, and the worker finishes or
// requeues its picture: System.CommandLine's own handling would end the process two seconds after SIGTERM.
var invocation = new InvocationConfiguration();
if (parse.CommandResult.Command == worker || parse.CommandResult.Command.Name == ServeCommand.Name) invocation.ProcessTerminationTimeout = null;
return await parse.InvokeAsync(invocation);
