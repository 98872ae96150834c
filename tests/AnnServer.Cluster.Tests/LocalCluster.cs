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

    public static async Task<LocalCluster> StartAsync(int nodes = 3, params string[] extraNodeArguments)
    {
        NatsCluster nats = await NatsCluster.StartAsync();
        var members = new AnnServerNode[nodes];
        try
        {
            for (int i = 0; i < nodes; i++)
                members[i] = new AnnServerNode($"node-{i}", nats.Urls, [.. NodeArguments, .. extraNodeArguments]);
            await Task.WhenAll(members.Select(n => n.StartAsync()));
            var cluster = new LocalCluster(nats, members);
            await cluster.WaitUntilNodesLiveAsync(nodes, TimeSpan.FromSeconds(20));
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
    public async Task CreateCollectionAsync(AnnServerNode via, string name, int dimension, uint shards, uint replicas)
    {
        await via.Collections.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = name, Dimension = (uint)dimension, Metric = Metric.L2, M = 12, EfConstruction = 100, Shards = shards, Replicas = replicas,
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
                        if (replica.State != "serving" || replica.AppliedSequence < wanted)
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

    /// <summary>Waits until the cluster state lists exactly <paramref name="count"/> live nodes.</summary>
    public async Task WaitUntilNodesLiveAsync(int count, TimeSpan timeout)
    {
        DateTime deadline = DateTime.UtcNow + timeout;
        string last = "no state";
        while (true)
        {
            try
            {
                ClusterState state = await StateAsync();
                int live = state.Nodes.Count(n => n.Live);
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
