using BenchmarkDotNet.Running;

// The kernel benchmarks (GEMM, convolutions, attention) with a GFLOP/s column; e.g. dotnet run -c Release -- --filter '*Gemm*'.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
