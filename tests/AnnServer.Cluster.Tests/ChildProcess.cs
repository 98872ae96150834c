using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A child process whose output is kept (for failure messages) and which is SIGKILLed on dispose, and, as a last
/// resort, when the test host exits: a failed or aborted test leaves no nats-server or annserver behind.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private static readonly ConcurrentDictionary<ChildProcess, byte> Live = new();
    private static readonly ConcurrentQueue<Action> ExitActions = new();

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (ChildProcess child in Live.Keys) child.Dispose();
            while (ExitActions.TryDequeue(out Action? action))
            {
                try { action(); } catch (Exception) { /* best effort at exit */ }
            }
        };
    }

    /// <summary>Runs <paramref name="action"/> when the test host exits (folder cleanup).</summary>
    public static void OnExit(Action action) => ExitActions.Enqueue(action);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private const int MaxOutputLines = 4000;

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>Everything kept of what the process wrote to stdout and stderr (its last 4,000 lines).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>The last <paramref name="lines"/> lines of <see cref="Output"/>, for failure messages.</summary>
    public string Tail(int lines)
    {
        string[] all = _output.ToArray();
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        if (environment is not null)
            foreach ((string key, string value) in environment) start.Environment[key] = value;

        var child = new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}"), name);
        Live[child] = 0;
        child._process.OutputDataReceived += (_, e) => child.Append(e.Data);
        child._process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        _output.Enqueue(line);
        while (_output.Count > MaxOutputLines) _output.TryDequeue(out _);
    }

    /// <summary>SIGKILL (Process.Kill on Unix), and wait until the process is gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // exited meanwhile
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as an orchestrator stops a process cleanly, and wait until it is gone; SIGKILL after
    /// <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        try
        {
            if (!_process.HasExited) Signal(SigTerm);
        }
        catch (InvalidOperationException) when (_process.HasExited)
        {
            // exited meanwhile
        }
        using var patience = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(patience.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    /// <summary>SIGSTOP: the process freezes with its sockets open, as a hung machine or a long GC pause looks to its
    /// peers (connections stay up, nothing answers).</summary>
    public void Pause() => Signal(SigStop);

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume() => Signal(SigCont);

    private const int SigTerm = 15, SigStop = 19, SigCont = 18; // Linux

    private void Signal(int signal)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("these signal numbers are Linux's");
        if (kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public void Dispose()
    {
        if (!Live.TryRemove(this, out _)) return;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
