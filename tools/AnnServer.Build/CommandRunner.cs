using AnnServer.Core.Snapshots;
using AnnServer.Datasets;

namespace AnnServer.Build;

/// <summary>Runs a command's body and turns every failure into one line on stderr and an exit code: never a stack trace
/// (unless ANN_BUILD_TRACE=1 asks for one).</summary>
internal static class CommandRunner
{
    public static int Execute(ToolConsole console, Func<int> body, bool offersSkipInvalid = false)
    {
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            return Fail(console, e, e.Message + " (see ann-build --help)", ExitCodes.Usage);
        }
        catch (InvalidRowException e)
        {
            string hint = offersSkipInvalid ? "; pass --skip-invalid to skip and count such rows" : "";
            return Fail(console, e, e.Message + hint, ExitCodes.Failed);
        }
        catch (OperationCanceledException e)
        {
            return Fail(console, e, "cancelled; no output was written", ExitCodes.Cancelled);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException
                                      or SnapshotFormatException)
        {
            return Fail(console, e, e.Message, ExitCodes.Failed);
        }
        catch (Exception e)
        {
            return Fail(console, e, $"unexpected {e.GetType().Name}: {e.Message}", ExitCodes.Failed);
        }
    }

    public static int Fail(ToolConsole console, Exception? exception, string message, int exitCode)
    {
        console.Out.Flush();
        console.Error.WriteLine("ann-build: error: " + OneLine(message));
        if (exception is not null && Environment.GetEnvironmentVariable("ANN_BUILD_TRACE") == "1")
            console.Error.WriteLine(exception);
        console.Error.Flush();
        return exitCode;
    }

    /// <summary>Library messages sometimes span lines; the tool promises one.</summary>
    public static string OneLine(string message) =>
        string.Join(" ", message.Split(['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
