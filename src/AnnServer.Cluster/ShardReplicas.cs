using System.Collections.Concurrent;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace AnnServer.Cluster;

/// <summary>
/// The shard replicas this node holds (singleton). The cluster state watcher calls <see cref="EnsureAsync"/> for every
/// (collection, shard) assigned to this node and <see cref="RemoveAsync"/> when an assignment goes away; each replica
/// then loads, catches up and follows its shard's stream in the background (<see cref="ShardReplicaRunner"/>). Replica data
/// lives in <c>{data-dir}/.shard-replicas/</c>, apart from the node's local collections.
/// </summary>
public sealed class ShardReplicas : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Collection, int Shard), ShardReplicaRunner> _replicas = new();
    private readonly SemaphoreSlim _changeLock = new(1, 1);
    private readonly HashSet<string> _preparedCollections = new(StringComparer.Ordinal);
    private readonly INatsJSContext _js;
    private readonly ShardSnapshotStore _snapshots;
    private readonly string _root;
    private readonly DurabilityOptions _durability;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private int _disposed;

    public ShardReplicas(INatsConnection nats, CollectionRegistry registry, ILoggerFactory loggerFactory, ClusterIdSetCache? idSets = null)
        : this(nats, registry.DataDirectory.Root, ShardReplicaDurability.From(registry.Durability), loggerFactory)
    {
        _idSets = idSets;
    }

    // Where the replicas' filters find stored id sets: the cluster's, kept once per node (null: a replica's own, empty).
    private readonly ClusterIdSetCache? _idSets;

    /// <summary>For tests: replicas under <paramref name="dataDirectory"/> with the given log and checkpoint settings.</summary>
    internal ShardReplicas(INatsConnection nats, string dataDirectory, DurabilityOptions durability, ILoggerFactory loggerFactory)
    {
        _js = new NatsJSContext(nats);
        _snapshots = new ShardSnapshotStore(_js);
        _root = Path.Combine(Path.GetFullPath(dataDirectory), ShardReplicaRunner.ReplicasFolderName);
        _durability = durability;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<ShardReplicas>();
    }

    /// <summary>
    /// Starts (or keeps) the replica of <paramref name="shard"/>: returns at once, loading and catching up go on in the
    /// background; <see cref="Statuses"/> shows the progress. A replica of an earlier collection of the same name (other
    /// <see cref="ClusterCollectionSpec.CreatedUnixMs"/>) is dropped and replaced.
    /// </summary>
    public async Task EnsureAsync(ClusterCollectionSpec spec, int shard, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, spec.Shards);
        await _changeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            if (_replicas.TryGetValue((spec.Name, shard), out ShardReplicaRunner? existing))
            {
                if (existing.Spec.CreatedUnixMs == spec.CreatedUnixMs) return;
                _replicas.TryRemove((spec.Name, shard), out _);
                await existing.DropAsync().ConfigureAwait(false);
            }
            if (_preparedCollections.Add(spec.Name))
            {
                // Once per collection and process, before any of its runners starts: remove what an interrupted
                // bootstrap or drop left behind (a runner that did this itself could delete a sibling's staging folder).
                foreach (string leftover in new DataDirectory(ShardReplicaRunner.CollectionRoot(_root, spec.Name)).Prepare())
                    _logger.LogWarning("Removed {Folder}, left by an interrupted replica load or removal", leftover);
            }
            var replica = new ShardReplicaRunner(spec, shard, _js, _snapshots, _root, _durability, _loggerFactory.CreateLogger<ShardReplicaRunner>(),
                _idSets?.SourceFor(spec));
            _replicas[(spec.Name, shard)] = replica;
            replica.Start();
            _logger.LogInformation("Holding a replica of collection {Collection} shard {Shard}", spec.Name, shard);
        }
        finally
        {
            _changeLock.Release();
        }
    }

    /// <summary>Stops the replica and deletes its local data (snapshot and log). Unknown replicas are ignored.</summary>
    public async Task RemoveAsync(string collection, int shard)
    {
        await _changeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_replicas.TryRemove((collection, shard), out ShardReplicaRunner? replica)) return;
            await replica.DropAsync().ConfigureAwait(false);
            _logger.LogInformation("Removed the replica of collection {Collection} shard {Shard} and its local data", collection, shard);
        }
        finally
        {
            _changeLock.Release();
        }
    }

    /// <summary>Every local replica's state, sorted by collection then shard.</summary>
    public IReadOnlyList<ShardReplicaStatus> Statuses() =>
        _replicas.Values.Select(r => r.Status).OrderBy(s => s.Collection, StringComparer.Ordinal).ThenBy(s => s.Shard).ToList();

    /// <summary>True when every local replica is serving (also when there is none): the node's readiness.</summary>
    public bool AllServing => _replicas.Values.All(r => r.IsServing);

    /// <summary>A lease on the local collection of a serving replica, or null with the reason.</summary>
    public CollectionLease? TryAcquireServing(string collection, int shard, out string? whyNot)
    {
        whyNot = null;
        if (!_replicas.TryGetValue((collection, shard), out ShardReplicaRunner? replica))
        {
            whyNot = $"this node holds no replica of collection '{collection}' shard {shard}";
            return null;
        }
        if (replica.TryAcquireServing() is { } lease) return lease;
        whyNot = $"this node's replica of collection '{collection}' shard {shard} is {replica.Status.State} " +
                 $"(applied stream sequence {replica.Status.AppliedSequence}), not serving yet";
        return null;
    }

    /// <summary>The spec of <paramref name="collection"/> as this node's replicas of it hold it, or null when this node
    /// holds no replica of any of its shards.</summary>
    public ClusterCollectionSpec? SpecOf(string collection)
    {
        foreach (((string name, _), ShardReplicaRunner replica) in _replicas)
            if (name == collection) return replica.Spec;
        return null;
    }

    /// <summary>The replica of (collection, shard), if this node holds one.</summary>
    internal ShardReplicaRunner? Find(string collection, int shard) => _replicas.GetValueOrDefault((collection, shard));

    /// <summary>Checkpoints the local replica now and uploads its snapshot (tests; the Checkpoint RPC of a cluster
    /// collection may use it).</summary>
    internal Task CheckpointAsync(string collection, int shard, CancellationToken ct) =>
        (Find(collection, shard) ?? throw new InvalidOperationException($"this node holds no replica of collection '{collection}' shard {shard}"))
        .CheckpointAsync(ct);

    /// <summary>Stops following the streams and closes the local collections, keeping their data for the next start.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _changeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (ShardReplicaRunner replica in _replicas.Values)
            {
                try
                {
                    await replica.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "Closing the replica of collection {Collection} shard {Shard} failed: {Message}", replica.Spec.Name, replica.Shard, e.Message);
                }
            }
            _replicas.Clear();
        }
        finally
        {
            _changeLock.Release();
        }
    }
}
