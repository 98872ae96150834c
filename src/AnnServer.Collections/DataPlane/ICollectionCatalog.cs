using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// The collections a client can name, and the calls that make, list, checkpoint and drop them. A single server's catalog
/// is its <see cref="CollectionRegistry"/> (<see cref="LocalCollectionCatalog"/>); in cluster mode the cluster's catalog
/// puts the cluster collections beside the node's own under one namespace. Which one serves is chosen once, at start.
/// </summary>
public interface ICollectionCatalog
{
    /// <summary>The collection named <paramref name="name"/>, held until the handle is disposed.</summary>
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
}

/// <summary>Where a new collection's points live: Shards = 0 on this server; 1 or more, sharded over the cluster with
/// Replicas copies of each shard (0: the cluster's default).</summary>
public readonly record struct ClusterPlacement(int Shards, int Replicas)
{
    public bool IsCluster => Shards > 0;
}
