using System.CommandLine;
using DepthSharp.Cli;
using DepthSharp.Cli.Batch;

var root = new RootCommand("DepthSharp: monocular depth estimation in managed .NET")
{
    EstimateCommand.Create(),
    VerifyCommand.Create(),
    PreprocessCommand.Create(),
    BenchCommand.Create(),
    ConvertCommand.Create(),
    BenchDecodeCommand.Create(),
    ServeCommand.Create(),
    HubCommands.Download(),
    HubCommands.Inspect(),
};
return await root.Parse(args).InvokeAsync();
