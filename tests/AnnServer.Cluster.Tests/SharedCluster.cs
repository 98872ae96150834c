namespace AnnServer.Cluster.Tests;

/// <summary>
/// One <see cref="LocalCluster"/> shared by every end-to-end test class, so its start-up (8–20 s on this machine,
/// depending on the load) is paid once. Each test uses its own collection and drops it at the end; a test that kills
/// something restarts it, and every test begins with <see cref="LocalCluster.HealAsync"/>, so a failed test does not
/// leave the next one a broken cluster.
/// </summary>
public sealed class SharedCluster : IAsyncLifetime
{
    private LocalCluster? _cluster;

    public LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("the shared cluster is not started");

    private int _reported;

    public async Task InitializeAsync() => _cluster = await LocalCluster.StartAsync();

    /// <summary>Every test's first line: heals the cluster (see above) and returns it; the first test also writes how
    /// long the start took.</summary>
    public async Task<LocalCluster> BeginAsync(Xunit.Abstractions.ITestOutputHelper output)
    {
        if (Interlocked.Exchange(ref _reported, 1) == 0) output.WriteLine(Cluster.StartupReport);
        await Cluster.HealAsync();
        return Cluster;
    }

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
