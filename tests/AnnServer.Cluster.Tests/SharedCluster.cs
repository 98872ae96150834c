namespace AnnServer.Cluster.Tests;

/// <summary>One <see cref="LocalCluster"/> shared by the test classes that kill nothing (each test uses its own
/// collection), so its start-up (about 8–15 s on this machine) is paid once.</summary>
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

/// <summary>The test classes in this collection share one <see cref="SharedCluster"/>.</summary>
[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedCluster>
{
    public const string Name = "shared cluster";
}
