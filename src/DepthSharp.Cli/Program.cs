using System.CommandLine;

// Entry point so the solution builds; the CLI's commands are not written yet (only --help and --version work).
var root = new RootCommand("DepthSharp: monocular depth estimation in managed .NET");
return root.Parse(args).Invoke();
