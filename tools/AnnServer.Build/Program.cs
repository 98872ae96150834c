using System.CommandLine;
using AnnServer.Build.Commands;

namespace AnnServer.Build;

/// <summary>
/// <c>ann-build</c>: builds snapshots offline (build), computes exact ground truth (ground-truth), inspects snapshots
/// (info) and converts vector files (convert). Every failure is one line on stderr and a non-zero exit code
/// (<see cref="ExitCodes"/>); outputs are written under a temporary name and renamed only on success.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // Ctrl+C cancels the work, which then deletes its temporary output and says so; a second Ctrl+C ends the process.
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        return Run(args, Console.Out, Console.Error, ToolConsole.ConsoleIsInteractive(), cancellation.Token);
    }

    /// <summary>Runs the tool in-process, with plain (non-live) progress: for tests and scripts.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error) => Run(args, output, error, interactive: false);

    public static int Run(string[] args, TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken = default)
    {
        var console = new ToolConsole(output, error, interactive);
        var root = new RootCommand("Builds and inspects AnnServer index snapshots offline")
        {
            BuildCommand.Create(console),
            GroundTruthCommand.Create(console),
            InfoCommand.Create(console),
            ConvertCommand.Create(console),
        };
        var parse = root.Parse(args);
        // --help and --version answer even when the rest of the line is incomplete.
        bool answersItself = parse.Action is System.CommandLine.Help.HelpAction || parse.Action?.GetType().Name.Contains("Version") == true;
        if (parse.Errors.Count > 0 && !answersItself)
            return CommandRunner.Fail(console, null, string.Join("; ", parse.Errors.Select(e => e.Message.TrimEnd('.'))) + " (see ann-build --help)", ExitCodes.Usage);
        // ProcessTerminationTimeout = null: System.CommandLine would end the process on Ctrl+C before our cleanup runs.
        var configuration = new InvocationConfiguration
        {
            Output = output,
            Error = error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };
        return parse.InvokeAsync(configuration, cancellationToken).GetAwaiter().GetResult();
    }
}
