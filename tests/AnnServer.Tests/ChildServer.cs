using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Health.V1;
using Grpc.Net.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace AnnServer.Tests;

/// <summary>
/// The real server binary (annserver.dll beside the tests) run as a child process with <c>dotnet</c>, so that it can
/// be killed with SIGKILL: no shutdown checkpoint, no final log commit, exactly what a crash leaves. Its console log is
/// kept for assertions (<see cref="Output"/>).
/// </summary>
public sealed class ChildServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private ChildServer(Process process, int port, int metricsPort)
    {
        _process = process;
        GrpcPort = port;
        MetricsPort = metricsPort;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
        Vectors = new VectorService.VectorServiceClient(Channel);
        Collections = new CollectionService.CollectionServiceClient(Channel);
    }

    public int GrpcPort { get; }
    public int MetricsPort { get; }

    /// <summary>The server process's id.</summary>
    public int ProcessId => _process.Id;
    public GrpcChannel Channel { get; }
    public VectorService.VectorServiceClient Vectors { get; }
    public CollectionService.CollectionServiceClient Collections { get; }

    /// <summary>Everything the server wrote to stdout and stderr so far.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts the server on free loopback ports with <paramref name="dataDir"/> and returns once health says
    /// SERVING (every collection loaded, the logs replayed).</summary>
    public static async Task<ChildServer> StartAsync(string dataDir, params string[] args)
    {
        (int port, int metricsPort) = FreePorts.Two();
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])[Path.Combine(AppContext.BaseDirectory, "annserver.dll"),
                     "--host", "127.0.0.1", "--port", port.ToString(), "--metrics-port", metricsPort.ToString(), "--http-port", "0", "--data-dir", dataDir, .. args])
            start.ArgumentList.Add(argument);
        // Plain console lines, no colours: the tests search the output.
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__ColorBehavior"] = "Disabled";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";

        var server = new ChildServer(Process.Start(start)!, port, metricsPort);
        server._process.OutputDataReceived += (_, e) => { if (e.Data is not null) server._output.Enqueue(e.Data); };
        server._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) server._output.Enqueue(e.Data); };
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        try
        {
            await server.WaitUntilServingAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>GET on the metrics port (/metrics, /healthz): the status code and the body.</summary>
    public async Task<(int Status, string Body)> GetMetricsPortAsync(string path)
    {
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.GetAsync($"http://127.0.0.1:{MetricsPort}{path}");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>SIGKILL, and wait until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await KillAsync();
        _process.Dispose();
    }

    private async Task WaitUntilServingAsync(TimeSpan timeout)
    {
        var health = new Health.HealthClient(Channel);
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the server exited with code {_process.ExitCode} before serving:\n{Output}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the server was not SERVING within {timeout.TotalSeconds} s:\n{Output}");
            try
            {
                HealthCheckResponse response = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (response.Status == ServingStatus.Serving) return;
            }
            catch (Grpc.Core.RpcException)
            {
                // not listening yet
            }
            await Task.Delay(50);
        }
    }
}
