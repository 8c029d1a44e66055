using BenchmarkDotNet.Running;

// Runs whichever benchmarks in this assembly the command line selects (none exist yet).
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
