using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>The catalog of a single server: the collections and aliases of its <see cref="CollectionRegistry"/>, and
/// snapshots loaded into it by its <see cref="SnapshotLoader"/> (none without one).</summary>
public sealed class LocalCollectionCatalog(CollectionRegistry registry, SnapshotLoader? loader = null) : ICollectionCatalog
{
    public CollectionRegistry Registry => registry;

    /// <summary>A collection that failed to load opens too, as a <see cref="FailedCollection"/>: it describes itself and
    /// refuses every data-plane call with FAILED_PRECONDITION; one being loaded opens as its <see cref="SnapshotLoad"/>,
    /// which describes its progress and refuses the rest with UNAVAILABLE.</summary>
    public CollectionHandle Open(string name) =>
        registry.TryAcquire(name) is { } lease ? new(lease)
        : registry.FindFailed(name) is { } failed ? new(failed)
        : registry.FindLoading(name) is { } load ? new(load)
        : throw NotFound(name);

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
        using CollectionLease lease = registry.TryAcquire(name) ?? throw (registry.FindFailed(name)?.Refusal()
            ?? (Exception?)registry.FindLoading(name)?.Refusal() ?? NotFound(name));
        return await lease.Collection.CheckpointAsync(ct).ConfigureAwait(false);
    }

    public async Task<CollectionStatus> LinkFieldAsync(string name, string field, CancellationToken ct)
    {
        using CollectionLease lease = registry.TryAcquire(name) ?? throw (registry.FindFailed(name)?.Refusal()
            ?? (Exception?)registry.FindLoading(name)?.Refusal() ?? NotFound(name));
        return await lease.Collection.LinkFieldAsync(field, ct).ConfigureAwait(false);
    }

    public Task<SnapshotLoadResult> LoadSnapshotAsync(string name, SnapshotSource source, CancellationToken ct) =>
        loader is null
            ? throw new CollectionPreconditionException("this server loads no snapshots while it runs (no snapshot loader is configured)")
            : loader.LoadAsync(name, source, ct);

    public IReadOnlyList<CollectionAlias> ListAliases() => registry.ListAliases();

    public Task CreateAliasAsync(string alias, string collection, CancellationToken ct) => registry.CreateAliasAsync(alias, collection, ct);

    public Task<string> SwitchAliasAsync(string alias, string collection, string? expectedCollection, CancellationToken ct) =>
        registry.SwitchAliasAsync(alias, collection, expectedCollection, ct);

    public Task DeleteAliasAsync(string alias, CancellationToken ct) => registry.DeleteAliasAsync(alias, ct);

    /// <summary>NOT_FOUND; for an alias whose collection is gone, naming both.</summary>
    private CollectionNotFoundException NotFound(string name) => registry.AliasTarget(name) is { } target
        ? new CollectionNotFoundException(target, $"alias '{name}' names collection '{target}', which does not exist")
        : new CollectionNotFoundException(name);
}
