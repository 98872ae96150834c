using System.Diagnostics;
using Xunit;

namespace AnnServer.Clients.Tests;

/// <summary>
/// A fact that runs only where Debian's Python client dependencies are installed (python3-grpcio, python3-protobuf,
/// python3-numpy, python3-pytest for /usr/bin/python3): elsewhere it is skipped, saying what to install. `.ci/run`
/// installs them, so CI always runs it.
/// </summary>
public sealed class PythonSuiteFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    private static readonly string? MissingReason = FindMissing();

    public PythonSuiteFactAttribute()
    {
        if (MissingReason is not null)
            Skip = MissingReason;
    }

    private static string? FindMissing()
    {
        const string install = "apt-get install -y python3-grpcio python3-protobuf python3-numpy python3-pytest " +
                               "protobuf-compiler protobuf-compiler-grpc (as .ci/run does)";
        if (!File.Exists(Python))
            return $"the Python client's tests need {Python}: {install}";
        var start = new ProcessStartInfo(Python, ["-c", "import grpc, google.protobuf, numpy, pytest"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process probe = Process.Start(start)!;
        string error = probe.StandardError.ReadToEnd();
        probe.WaitForExit();
        return probe.ExitCode == 0 ? null : $"the Python client's tests need python3-grpcio and friends ({error.Trim()}): {install}";
    }
}
