using System.Security;
using AnnServer.Core.Snapshots;
using AnnServer.Datasets;
using Spectre.Console;

namespace AnnServer.Harness.Cli;

/// <summary>Turns the errors a user can cause (bad files, bad options) into one clear line and exit code 1.</summary>
internal static class CommandGuard
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is UsageException or ArgumentException or InvalidDataException or IOException
                                      or UnauthorizedAccessException or SecurityException or SnapshotFormatException
                                      or InvalidRowException or InvalidOperationException)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"ann-bench: error: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"ann-bench: unexpected {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            return 2;
        }
    }

    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (Exception e) when (e is UsageException or ArgumentException or InvalidDataException or IOException
                                      or UnauthorizedAccessException or InvalidOperationException)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"ann-bench: error: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"ann-bench: unexpected {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            return 2;
        }
    }

    /// <summary>Writes a progress or status line where it does not mix with the table on standard output.</summary>
    public static void Status(string message) => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
}

/// <summary>A combination of options that cannot work; the message says which and why.</summary>
public sealed class UsageException(string message) : Exception(message);
