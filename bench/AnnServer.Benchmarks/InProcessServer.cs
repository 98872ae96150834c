using System.Globalization;
using AnnServer.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace AnnServer.Benchmarks;

/// <summary>
/// A real server host (its services, collections and log on disk) in this process, on a data folder of its own that
/// is deleted when it stops, for measurements that call the gRPC services directly (<see cref="DirectCallContext"/>).
/// </summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDir;

    private InProcessServer(WebApplication app, string dataDir) => (_app, _dataDir) = (app, dataDir);

    public static async Task<InProcessServer> StartAsync(string name)
    {
        string dataDir = Directory.CreateTempSubdirectory($"annserver-{name}-").FullName;
        WebApplication app = AnnServerHost.Build(["--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--http-port", "-1",
            "--data-dir", dataDir]);
        await app.StartAsync();
        return new InProcessServer(app, dataDir);
    }

    public T Service<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Directory.Delete(_dataDir, recursive: true);
    }

    /// <summary>The integer after <paramref name="name"/> among a tool's arguments, or <paramref name="fallback"/>.</summary>
    public static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
