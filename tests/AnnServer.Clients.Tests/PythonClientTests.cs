using System.Diagnostics;
using System.Text;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Clients.Tests;

/// <summary>
/// The Python client's pytest suite (clients/python/tests), run as a child process so that `dotnet test AnnServer.sln`
/// stays the one test command: it starts the annserver.dll built beside this project on free ports, generates the
/// protobuf modules from protos/ first, and fails here with its whole output.
/// </summary>
public sealed class PythonClientTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    [PythonSuiteFact]
    public async Task ThePythonClientSuitePasses()
    {
        string package = Path.Combine(RepositoryRoot(), "clients", "python");
        var start = new ProcessStartInfo(PythonSuiteFactAttribute.Python,
            ["-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"])
        {
            WorkingDirectory = package,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ANNSERVER_DLL"] = Path.Combine(AppContext.BaseDirectory, "annserver.dll");
        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";

        using Process pytest = Process.Start(start)!;
        var text = new StringBuilder();
        pytest.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        pytest.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (text) text.AppendLine(e.Data); };
        pytest.BeginOutputReadLine();
        pytest.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await pytest.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            pytest.Kill(entireProcessTree: true);
            await pytest.WaitForExitAsync();
            Assert.Fail($"pytest did not finish within {Limit.TotalMinutes} minutes:\n{text}");
        }
        pytest.WaitForExit(); // drains the redirected output
        output.WriteLine(text.ToString());
        Assert.True(pytest.ExitCode == 0, $"pytest exited with {pytest.ExitCode}:\n{text}");
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "AnnServer.sln")))
                return folder.FullName;
        throw new InvalidOperationException($"no AnnServer.sln above {AppContext.BaseDirectory}");
    }
}
