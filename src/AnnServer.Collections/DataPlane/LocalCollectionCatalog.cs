using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>The catalog of a single server: the collections of its <see cref="CollectionRegistry"/>.</summary>
public sealed class LocalCollectionCatalog(CollectionRegistry registry) : ICollectionCatalog
{
    public CollectionRegistry Registry => registry;

    /// <summary>A collection that failed to load opens too, as a <see cref="FailedCollection"/>: it describes itself and
    /// refuses every data-plane call with FAILED_PRECONDITION.</summary>
    public CollectionHandle Open(string name) =>
        registry.TryAcquire(name) is { } lease ? new(lease)
        : registry.FindFailed(name) is { } failed ? new(failed)
        : throw new CollectionNotFoundException(name);

    public Task<CollectionStatus> CreateAsync(string name, HnswOptions options, ClusterPlacement placement, CancellationToken ct)
    {
        if (placement.IsCluster)
            throw new CollectionPreconditionException(
                $"shards ({placement.Shards}) need cluster mode (--cluster-nats); set shards to 0 for a collection on this server");
        return registry.CreateAsync(name, options, ct);
    }

    public Task DropAsync(string name, CancellationToken ct) => registry.DropAsync(name, ct);

    /// <summary>The registry's collections under user names: a cluster node's shard replicas are local collections too,
    /// under names outside the user-name rule, and are not listed.</summary>
    public IReadOnlyList<CollectionStatus> List()
    {
        var statuses = new List<CollectionStatus>();
        foreach (CollectionStatus status in registry.List())
            if (CollectionName.IsValid(status.Name))
                statuses.Add(status);
        statuses.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return statuses;
    }

    public async Task<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(string name, CancellationToken ct)
    {
        using CollectionLease lease = registry.Acquire(name);
        return await lease.Collection.CheckpointAsync(ct).ConfigureAwait(false);
    }
}
