using AnnServer.Benchmarks;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*'
// (add --artifacts-path /tmp/art-NAME before -- when others build in the same checkout)
// dotnet run -c Release --project bench/AnnServer.Benchmarks -- alloc   (bytes allocated per search in the server: ServingAllocations)
if (args is ["alloc", ..])
    return await ServingAllocations.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(BenchmarkConfig.InProcess(args), BenchmarkConfig.Create());
return 0;
