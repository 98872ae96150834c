using AnnServer.Benchmarks;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*'
// (add --artifacts-path /tmp/art-NAME before -- when others build in the same checkout)
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(BenchmarkConfig.InProcess(args), BenchmarkConfig.Create());
