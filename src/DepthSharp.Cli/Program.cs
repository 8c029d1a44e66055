using System.CommandLine;
using DepthSharp.Cli;

var root = new RootCommand("DepthSharp: monocular depth estimation in managed .NET")
{
    EstimateCommand.Create(),
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
// serve stops on SIGTERM through the web host, which drains the requests in flight for up to --shutdown-timeout;
// System.CommandLine's own handling would end the process two seconds after the signal, cutting them off.
var invocation = parse.CommandResult.Command.Name == ServeCommand.Name ? new InvocationConfiguration { ProcessTerminationTimeout = null } : null;
return await parse.InvokeAsync(invocation);
