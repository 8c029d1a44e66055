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
return await root.Parse(args).InvokeAsync();
