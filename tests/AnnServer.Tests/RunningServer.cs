using AnnServer.Collections;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Tests;

/// <summary>
/// The real server, started in the test process on free loopback ports (--port 0 --metrics-port 0 --http-port 0) with its own data
/// directory, and a gRPC channel to it. Stopping it is a clean shutdown (unsaved collections are checkpointed).
/// </summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempFolder? _ownedDataDir;
    private int _disposed;

    private RunningServer(WebApplication app, string dataDir, TempFolder? ownedDataDir)
    {
        _app = app;
        DataDir = dataDir;
        _ownedDataDir = ownedDataDir;
        ServerEndpoints endpoints = app.Services.GetRequiredService<ServerEndpoints>();
        GrpcPort = endpoints.GrpcPort;
        MetricsPort = endpoints.MetricsPort;
        HttpPort = endpoints.HttpPort;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}", new GrpcChannelOptions { MaxReceiveMessageSize = null });
        Vectors = new VectorService.VectorServiceClient(Channel);
        Collections = new CollectionService.CollectionServiceClient(Channel);
        Health = new Health.HealthClient(Channel);
    }

    public string DataDir { get; }
    public int GrpcPort { get; }
    public int MetricsPort { get; }
    public int HttpPort { get; }
    public GrpcChannel Channel { get; }
    public VectorService.VectorServiceClient Vectors { get; }
    public CollectionService.CollectionServiceClient Collections { get; }
    public Health.HealthClient Health { get; }
    /// <summary>The server's own components (its search slots, its stream count), for tests that hold or watch them.</summary>
    public IServiceProvider Services => _app.Services;
    public CollectionRegistry Registry => _app.Services.GetRequiredService<CollectionRegistry>();
    public MemoryBudget MemoryBudget => _app.Services.GetRequiredService<MemoryBudget>();

    /// <summary>Starts a server with these extra arguments. Without <paramref name="dataDir"/> it gets a temporary one,
    /// deleted when the server is disposed. Returns once the collections are loaded unless told not to wait.</summary>
    public static async Task<RunningServer> StartAsync(string? dataDir = null, bool waitUntilLoaded = true, params string[] args)
    {
        TempFolder? owned = dataDir is null ? new TempFolder() : null;
        dataDir ??= owned!.Path;
        WebApplication app = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "0", "--data-dir", dataDir, .. args]);
        await app.StartAsync();
        var server = new RunningServer(app, dataDir, owned);
        if (waitUntilLoaded)
            await server.WaitUntilLoadedAsync();
        return server;
    }

    public async Task WaitUntilLoadedAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Registry.IsLoaded)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the server did not finish loading within 30 s");
            await Task.Delay(10);
        }
    }

    public async Task<string> GetMetricsTextAsync(string path = "/metrics")
    {
        using var http = new HttpClient();
        return await http.GetStringAsync($"http://127.0.0.1:{MetricsPort}{path}");
    }

    /// <summary>Stops the server; a second call does nothing (a test stops it early to restart on its folder).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ownedDataDir?.Dispose();
    }
}
