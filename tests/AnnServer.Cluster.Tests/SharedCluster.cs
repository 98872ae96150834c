namespace AnnServer.Cluster.Tests;

/// <summary>One <see cref="LocalCluster"/> shared by the tests of a class that kill nothing (each uses its own
/// collection), so its start-up (about 5–10 s here) is paid once.</summary>
public sealed class SharedCluster : IAsyncLifetime
{
    private LocalCluster? _cluster;

    public LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("the shared cluster is not started");

    public async Task InitializeAsync() => _cluster = await LocalCluster.StartAsync();

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}
