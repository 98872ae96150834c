using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A whole cluster on loopback: three nats-servers (<see cref="NatsCluster"/>) and <c>nodes</c> AnnServer nodes
/// (<see cref="AnnServerNode"/>, ids node-0, node-1, ...) in cluster mode with role all, stream replication 3, and a
/// short heartbeat (300 ms) and node TTL (2 s) so that a dead node is noticed within a test's patience.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    /// <summary>Cluster settings every test node gets.</summary>
    public static readonly string[] NodeArguments = ["--stream-replicas", "3", "--heartbeat-ms", "300", "--node-ttl-ms", "2000"];

    private LocalCluster(NatsCluster nats, AnnServerNode[] nodes)
    {
        Nats = nats;
        Nodes = nodes;
    }

    public NatsCluster Nats { get; }
    public AnnServerNode[] Nodes { get; }

    public AnnServerNode Node(string nodeId) =>
        Array.Find(Nodes, n => n.NodeId == nodeId) ?? throw new KeyNotFoundException($"no node '{nodeId}' in this test cluster");

    /// <summary>Every process's last log lines, for failure messages.</summary>
    public string Output => string.Join('\n', [Nats.Output, .. Nodes.Select(n => n.Output)]);

    /// <summary>The lines every node's current process logged that contain all of <paramref name="parts"/>, each
    /// prefixed with its node (for tests that report what the nodes did, e.g. their replicas' catch-ups).</summary>
    public IEnumerable<string> LinesLogged(params string[] parts) =>
        Nodes.SelectMany(n => n.FullOutput.Split('\n')
            .Where(line => parts.All(part => line.Contains(part, StringComparison.Ordinal)))
            .Select(line => $"{n.NodeId}: {line.TrimEnd()}"));

    /// <summary>How long the start took, phase by phase (for the test output).</summary>
    public string StartupReport { get; private set; } = "";

    public static async Task<LocalCluster> StartAsync(int nodes = 3, NodeStart start = NodeStart.FirstNodeAlone, params string[] extraNodeArguments)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        NatsCluster nats = await NatsCluster.StartAsync();
        double natsReady = clock.Elapsed.TotalSeconds;
        var members = new AnnServerNode[nodes];
        try
        {
            for (int i = 0; i < nodes; i++)
                members[i] = new AnnServerNode($"node-{i}", nats.Urls, [.. NodeArguments, .. extraNodeArguments]);
            if (start == NodeStart.FirstNodeAlone) await members[0].StartAsync();
            await Task.WhenAll(members.Where(n => !n.IsRunning).Select(n => n.StartAsync()));
            double serving = clock.Elapsed.TotalSeconds;
            var cluster = new LocalCluster(nats, members);
            await cluster.WaitUntilNodesLiveAsync(nodes, TimeSpan.FromSeconds(20));
            cluster.StartupReport = $"cluster start ({start}): JetStream ready {natsReady:F1} s, {nodes} nodes SERVING {serving:F1} s, all live in the state {clock.Elapsed.TotalSeconds:F1} s";
            return cluster;
        }
        catch
        {
            foreach (AnnServerNode? node in members)
                if (node is not null) await node.DisposeAsync();
            await nats.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Brings back whatever an earlier test killed or froze (or a failed one left down): every nats-server running and
    /// thawed, every node running, SERVING and live in the cluster state. Cheap when all is well: one state call.
    /// </summary>
    public async Task HealAsync()
    {
        for (int i = 0; i < Nats.Count; i++)
        {
            if (Nats.IsFrozen(i))
            {
                Nats.Thaw(i);
                await Nats.WaitUntilHealthyAsync(i, TimeSpan.FromSeconds(30));
            }
            if (!Nats.IsRunning(i)) await Nats.RestartAsync(i);
        }
        AnnServerNode[] down = Nodes.Where(n => !n.IsRunning).ToArray();
        await Task.WhenAll(down.Select(n => n.StartAsync()));
        await WaitUntilNodesLiveAsync(Nodes.Length, TimeSpan.FromSeconds(30));
    }

    /// <summary>Drops a collection at the end of a test (so later tests on the shared cluster do not carry its
    /// replicas); a failure is reported to <paramref name="report"/>, not thrown: it is not what the test checks.</summary>
    public async Task DropQuietlyAsync(string collection, Action<string> report)
    {
        try
        {
            AnnServerNode via = Nodes.First(n => n.IsRunning);
            await via.Collections.DropCollectionAsync(new DropCollectionRequest { Name = collection }, deadline: DateTime.UtcNow.AddSeconds(15));
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            report($"dropping '{collection}' failed: {e.Message}");
        }
    }

    /// <summary>The cluster state as the first running node sees it.</summary>
    public async Task<ClusterState> StateAsync()
    {
        AnnServerNode via = Nodes.FirstOrDefault(n => n.IsRunning) ?? throw new InvalidOperationException("no node is running");
        return await via.Cluster.GetClusterStateAsync(new GetClusterStateRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
    }

    /// <summary>Shard → node ids of its replicas, from the cluster state.</summary>
    public async Task<IReadOnlyList<string[]>> ReplicasAsync(string collection)
    {
        ClusterCollection found = Find(await StateAsync(), collection);
        return found.Shards.OrderBy(s => s.Shard).Select(s => s.Replicas.Select(r => r.NodeId).ToArray()).ToArray();
    }

    private ClusterCollection Find(ClusterState state, string collection) =>
        state.Collections.FirstOrDefault(c => c.Info.Name == collection)
        ?? throw new InvalidOperationException($"collection '{collection}' is not in the cluster state: {state}");

    /// <summary>Creates a cluster collection (L2, small graph settings) through <paramref name="via"/> and waits until
    /// every replica of every shard says serving.</summary>
    public async Task CreateCollectionAsync(AnnServerNode via, string name, int dimension, uint shards, uint replicas,
        Quantization quantization = Quantization.None)
    {
        await via.Collections.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = name, Dimension = (uint)dimension, Metric = Metric.L2, M = 12, EfConstruction = 100, Shards = shards, Replicas = replicas,
            Quantization = quantization,
        }, deadline: DateTime.UtcNow.AddSeconds(30));
        await WaitUntilCaughtUpAsync(name, new Dictionary<uint, ulong>(), TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits until every replica of every shard of <paramref name="collection"/> is serving and has applied at
    /// least <paramref name="sequences"/>[shard] (and the stream's last sequence the state reports).</summary>
    public async Task WaitUntilCaughtUpAsync(string collection, IReadOnlyDictionary<uint, ulong> sequences, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "no state";
        while (true)
        {
            try
            {
                ClusterCollection found = Find(await StateAsync(), collection);
                var lagging = new List<string>();
                foreach (ShardState shard in found.Shards)
                {
                    ulong wanted = Math.Max(shard.LastSequence, sequences.GetValueOrDefault(shard.Shard));
                    if (shard.Replicas.Count == 0) lagging.Add($"shard {shard.Shard} has no replica");
                    foreach (ShardReplica replica in shard.Replicas)
                        if (replica.State != ReplicaState.Serving || replica.AppliedSequence < wanted)
                            lagging.Add($"shard {shard.Shard} on {replica.NodeId}: {replica.State}, applied {replica.AppliedSequence} of {wanted}");
                }
                if (found.Shards.Count > 0 && lagging.Count == 0) return;
                last = string.Join("; ", lagging);
            }
            catch (Exception e) when (e is RpcException or InvalidOperationException)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"collection '{collection}' not caught up within {timeout.TotalSeconds} s: {last}\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the cluster state lists exactly <paramref name="count"/> of this cluster's nodes
    /// (<see cref="Nodes"/>) as live; nodes a test started beside them (a router) do not count.</summary>
    public async Task WaitUntilNodesLiveAsync(int count, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "no state";
        while (true)
        {
            try
            {
                ClusterState state = await StateAsync();
                int live = state.Nodes.Count(n => n.Live && Nodes.Any(own => own.NodeId == n.NodeId));
                if (live == count) return;
                last = string.Join(", ", state.Nodes.Select(n => $"{n.NodeId} live={n.Live}"));
            }
            catch (RpcException e)
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not {count} live nodes within {timeout.TotalSeconds} s: {last}\n{Output}");
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (AnnServerNode node in Nodes) await node.DisposeAsync();
        await Nats.DisposeAsync();
    }
}
