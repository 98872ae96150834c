using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace AnnServer.Tests;

/// <summary>A server that cannot start says why in one line on stderr and exits 1 (runtime) or 2 (a setting): the real
/// binary, run to its exit. And what a start must not do: log a failure for each probe while it loads.</summary>
public sealed class StartFailureTests
{
    [Fact]
    public async Task ASecondServerOnTheSameDataFolderExitsOneNamingTheHoldersPid()
    {
        using var dataDir = new TempFolder();
        await using ChildServer first = await ChildServer.StartAsync(dataDir.Path);

        var (exitCode, stderr) = await RunToExitAsync("--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"annserver: the data directory {dataDir.Path} is in use by process {first.ProcessId} " +
            $"(it holds {Path.Combine(dataDir.Path, ".lock")}): stop that server, or give this one another --data-dir",
            Assert.Single(stderr));
    }

    [Fact]
    public async Task AnAddressThisMachineDoesNotHaveIsABadSetting()
    {
        using var dataDir = new TempFolder();

        var (exitCode, stderr) = await RunToExitAsync("--host", "10.255.255.1", "--insecure", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("annserver: cannot listen on 10.255.255.1 (ports 0, 0, 0): ", Assert.Single(stderr));
        Assert.EndsWith("--host must be an address of this machine, 'localhost' or '*'", stderr[0]);
    }

    [Fact]
    public async Task APortInUseExitsOne()
    {
        using var dataDir = new TempFolder();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, stderr) = await RunToExitAsync("--host", "127.0.0.1", "--port", port.ToString(), "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path);

        Assert.Equal(1, exitCode);
        Assert.Equal($"annserver: Failed to bind to address http://127.0.0.1:{port}: address already in use.", Assert.Single(stderr));
    }

    [Fact]
    public async Task AnIpv4MappedHostListensOnItsIpv4Address()
    {
        using var dataDir = new TempFolder();
        WebApplication app = AnnServerHost.Build(["--host", "::ffff:127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path]);
        await using (app)
        {
            await app.StartAsync();
            int port = app.Services.GetRequiredService<ServerEndpoints>().GrpcPort;
            using GrpcChannel channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var list = new CollectionService.CollectionServiceClient(channel);

            await WaitUntilAsync(async () =>
            {
                try { await list.ListCollectionsAsync(new ListCollectionsRequest()); return true; }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable) { return false; } // still loading
            });
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task AProbeWhileLoadingAnswersNotReadyWithoutLoggingAFailure()
    {
        using var dataDir = new TempFolder();
        WebApplication app = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir.Path]);
        var log = new CapturedLog();
        app.Services.GetRequiredService<ILoggerFactory>().AddProvider(log);
        await using (app)
        {
            // Not started: the collections are not loaded, as during a long load.
            HealthReport whileLoading = await app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
            await app.StartAsync();
            await WaitUntilAsync(() => Task.FromResult(app.Services.GetRequiredService<AnnServer.Collections.CollectionRegistry>().IsLoaded));
            await app.StopAsync();

            Assert.Equal(HealthStatus.Unhealthy, whileLoading.Status);
            Assert.Equal("loading collections: 0 of 0 loaded", whileLoading.Entries["collections"].Description);
            Assert.DoesNotContain(log.Lines, line => line.Level >= LogLevel.Error);
            Assert.Single(log.Lines, line => line.Message.StartsWith("Loading 0 collection(s) from ", StringComparison.Ordinal));
        }
    }

    /// <summary>Runs the server binary until it exits (a start failure exits at once; the bound is a safety net) and
    /// returns its exit code and its stderr lines.</summary>
    private static async Task<(int ExitCode, List<string> Stderr)> RunToExitAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "annserver.dll"));
        foreach (string argument in args) start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        var stderr = new List<string>();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.Add(e.Data); };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(bound.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"annserver {string.Join(' ', args)} did not exit");
        }
        process.WaitForExit(); // drains the redirected streams
        lock (stderr) return (process.ExitCode, stderr.ToList());
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 30 s");
            await Task.Delay(20);
        }
    }

    private sealed class CapturedLog : ILoggerProvider
    {
        private readonly List<(LogLevel Level, string Message)> _lines = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Lines { get { lock (_lines) return _lines.ToList(); } }

        public ILogger CreateLogger(string categoryName) => new Logger(this);
        public void Dispose() { }

        private sealed class Logger(CapturedLog log) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (log._lines) log._lines.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
