using System.CommandLine;

namespace AnnServer.Harness.Cli;

/// <summary>The `ann-bench` command line: datasets, recall, memory, load, merge, soak, recovery, filtered, recommend, admin.</summary>
public static class AnnBenchCli
{
    public static RootCommand CreateRootCommand()
    {
        var root = new RootCommand("ann-bench: recall/QPS and latency-under-load benchmarks for AnnServer and its peers (bench/README.md)");
        root.Subcommands.Add(DatasetsCommand.Create());
        root.Subcommands.Add(RecallCommand.Create());
        root.Subcommands.Add(MemoryCommand.Create());
        root.Subcommands.Add(LoadCommand.Create());
        root.Subcommands.Add(MergeCommand.Create());
        root.Subcommands.Add(Soak.SoakCommand.Create());
        root.Subcommands.Add(RecoveryCommand.Create());
        root.Subcommands.Add(FilteredCommand.Create());
        root.Subcommands.Add(RecommendCommand.Create());
        root.Subcommands.Add(AdminCommand.Create());
        return root;
    }

    /// <summary>Parses and runs a command line; returns the process exit code. Tests call this in-process.</summary>
    public static int Run(params string[] args) => CreateRootCommand().Parse(args).Invoke();
}
