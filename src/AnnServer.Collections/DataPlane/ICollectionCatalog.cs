using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// The collections a client can name, and the calls that make, list, checkpoint and drop them. A single server's catalog
/// is its <see cref="CollectionRegistry"/> (<see cref="LocalCollectionCatalog"/>); in cluster mode the cluster's catalog
/// puts the cluster collections beside the node's own under one namespace. Which one serves is chosen once, at start.
/// Aliases share that namespace: wherever a call names a collection, it may give an alias of one.
/// </summary>
public interface ICollectionCatalog
{
    /// <summary>The collection named <paramref name="name"/> (or the one that alias names), held until the handle is
    /// disposed: a call that opened it before an alias switch finishes on it.</summary>
    /// <exception cref="CollectionNotFoundException">no collection has that name.</exception>
    CollectionHandle Open(string name);

    /// <summary>Creates a collection; <paramref name="placement"/> with shards ≥ 1 asks for a cluster collection.</summary>
    Task<CollectionStatus> CreateAsync(string name, HnswOptions options, ClusterPlacement placement, CancellationToken ct);

    /// <summary>Drops the collection and deletes its data.</summary>
    Task DropAsync(string name, CancellationToken ct);

    /// <summary>Every collection a client can name, sorted by name.</summary>
    IReadOnlyList<CollectionStatus> List();

    /// <summary>Saves a snapshot of the collection now and truncates its log; returns its status and how long it took.</summary>
    Task<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(string name, CancellationToken ct);

    /// <summary>
    /// Makes <paramref name="field"/> a linked keyword field of the collection (<see cref="HnswOptions.LinkedFields"/>):
    /// links the points already there, then checkpoints, so the setting is durable when the call returns.
    /// </summary>
    /// <exception cref="ArgumentException">a field that cannot be linked (another kind, one too many); nothing changes.</exception>
    Task<CollectionStatus> LinkFieldAsync(string name, string field, CancellationToken ct);

    /// <summary>Loads a snapshot as a new collection; returns once it serves (<see cref="SnapshotLoader"/>).</summary>
    Task<SnapshotLoadResult> LoadSnapshotAsync(string name, SnapshotSource source, CancellationToken ct);

    /// <summary>Every alias, sorted by alias.</summary>
    IReadOnlyList<CollectionAlias> ListAliases();

    /// <summary>Makes <paramref name="alias"/> a name of <paramref name="collection"/>, durably.</summary>
    Task CreateAliasAsync(string alias, string collection, CancellationToken ct);

    /// <summary>Points <paramref name="alias"/> at <paramref name="collection"/> atomically and durably, if it names
    /// <paramref name="expectedCollection"/> (when given); returns the collection it named before.</summary>
    Task<string> SwitchAliasAsync(string alias, string collection, string? expectedCollection, CancellationToken ct);

    /// <summary>Deletes an alias, durably; its collection stays.</summary>
    Task DeleteAliasAsync(string alias, CancellationToken ct);
}

/// <summary>Where a new collection's points live: Shards = 0 on this server; 1 or more, sharded over the cluster with
/// Replicas copies of each shard (0: the cluster's default).</summary>
public readonly record struct ClusterPlacement(int Shards, int Replicas)
{
    public bool IsCluster => Shards > 0;
}
