using AnnServer.Benchmarks;
using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/AnnServer.Benchmarks -- --filter '*'
// (add --artifacts-path /tmp/art-NAME before -- when others build in the same checkout)
// dotnet run -c Release --project bench/AnnServer.Benchmarks -- alloc   (bytes allocated per search in the server: ServingAllocations)
// dotnet run -c Release --project bench/AnnServer.Benchmarks -- linked-writes [--linked]   (LinkedWrites: a linked field's write cost)
if (args is ["alloc", ..])
    return await ServingAllocations.RunAsync(args[1..]);
if (args is ["linked-writes", ..])
    return await LinkedWrites.RunAsync(args[1..]);
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run(BenchmarkConfig.InProcess(args), BenchmarkConfig.Create());
return 0;
