using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// One <see cref="LocalCluster"/> shared by every end-to-end test class, so its start-up (6–20 s on this machine,
/// depending on the load) is paid once. Each test uses its own collection and drops it at the end; a test that kills
/// something restarts it, and every test begins with <see cref="LocalCluster.HealAsync"/>, so a failed test does not
/// leave the next one a broken cluster.
/// </summary>
public sealed class SharedCluster : IAsyncLifetime
{
    private LocalCluster? _cluster;

    public LocalCluster Cluster => _cluster ?? throw new InvalidOperationException("the shared cluster is not started");

    private int _reported;
    private readonly SemaphoreSlim _routerStart = new(1, 1);
    private AnnServerNode? _router;

    /// <summary>--max-message-bytes of <see cref="RouterAsync"/>'s node: small enough that a test can make a Get answer
    /// exceed it with a few hundred points, large enough for every other read the tests send through it.</summary>
    public const int RouterMaxMessageBytes = 128 << 10;

    /// <summary>Every node's --import-dir: a test writes the files LoadSnapshot is to take there.</summary>
    public TempFolder ImportDirectory { get; } = new("annserver-import-");

    public async Task InitializeAsync()
    {
        _cluster = await LocalCluster.StartAsync(3, NodeStart.FirstNodeAlone, "--import-dir", ImportDirectory.Path);
        await CreateSnapshotBucketsAsync(_cluster);
    }

    /// <summary>
    /// A replica's first start on a node looks up the buckets that hold shard snapshots and creates them if they are
    /// missing. The first test's collection started replicas on every node at once, they raced to create the buckets,
    /// and nats-server 2.9 lost the replies (see <see cref="NodeStart.FirstNodeAlone"/>): that test waited about 6 s for
    /// its replicas. The one replica of a throwaway collection creates them alone. (StreamTrimClusterTests' own cluster
    /// still has two replicas race to create them.)
    /// </summary>
    private static async Task CreateSnapshotBucketsAsync(LocalCluster cluster)
    {
        const string name = "snapshot_buckets";
        await cluster.CreateCollectionAsync(cluster.Nodes[0], name, dimension: 2, shards: 1, replicas: 1);
        await cluster.Nodes[0].Collections.DropCollectionAsync(new DropCollectionRequest { Name = name }, deadline: DateTime.UtcNow.AddSeconds(15));
    }

    /// <summary>A node with role router (no replicas, so every read goes over gRPC) and --max-message-bytes
    /// <see cref="RouterMaxMessageBytes"/>, started by the first test that asks (a process start is seconds on this
    /// machine) and again if it is not running.</summary>
    public async Task<AnnServerNode> RouterAsync()
    {
        await _routerStart.WaitAsync();
        try
        {
            if (_router is { IsRunning: true }) return _router;
            _router ??= new AnnServerNode("router-shared", Cluster.Nats.Urls,
                [.. LocalCluster.NodeArguments, "--cluster-role", "router", "--max-message-bytes", RouterMaxMessageBytes.ToString()]);
            await _router.StartAsync();
            return _router;
        }
        finally
        {
            _routerStart.Release();
        }
    }

    /// <summary>Every test's first line: heals the cluster (see above) and returns it; the first test also writes how
    /// long the start took.</summary>
    public async Task<LocalCluster> BeginAsync(Xunit.Abstractions.ITestOutputHelper output)
    {
        if (Interlocked.Exchange(ref _reported, 1) == 0) output.WriteLine(Cluster.StartupReport);
        await Cluster.HealAsync();
        return Cluster;
    }

    /// <summary>
    /// <see cref="RouterAsync"/>'s node once its own view of the cluster state has <paramref name="collection"/> with a
    /// serving replica of every shard: the router may have been running before the collection was created, and its view
    /// follows the state buckets a moment behind the node that created it.
    /// </summary>
    public async Task<AnnServerNode> RouterSeeingAsync(string collection)
    {
        AnnServerNode router = await RouterAsync();
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        string last = "no state";
        while (true)
        {
            try
            {
                ClusterState state = await router.Cluster.GetClusterStateAsync(new GetClusterStateRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
                ClusterCollection? found = state.Collections.FirstOrDefault(c => c.Info.Name == collection);
                if (found is not null && found.Shards.Count > 0 && found.Shards.All(s => s.Replicas.Any(r => r.State == ReplicaState.Serving)))
                    return router;
                last = found?.ToString() ?? "collection not in its view";
            }
            catch (RpcException e)
            {
                last = e.Status.ToString();
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the router does not see collection '{collection}' served within 30 s: {last}\n{router.Output}");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        if (_router is not null) await _router.DisposeAsync();
        if (_cluster is not null) await _cluster.DisposeAsync();
        ImportDirectory.Dispose();
    }
}

/// <summary>The test classes in this collection share one <see cref="SharedCluster"/>, and run alone (see
/// TestParallelization.cs).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedCluster>
{
    public const string Name = "shared cluster";
}
