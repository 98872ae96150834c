using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;

namespace AnnServer.Cluster;

/// <summary>
/// A cluster node's catalog: the cluster collections (the cluster state's specs, <see cref="ShardedCollection"/>) and
/// the node's own collections (<see cref="LocalCollectionCatalog"/>) under one namespace: a name is either, never both.
/// Aliases and snapshot loads are not in cluster mode yet (issue 19 item 5: aliases belong in the cluster's KV state, so
/// that every router switches at once; snapshots belong in the JetStream object store, loaded by every replica): they are
/// refused with FAILED_PRECONDITION saying so, and a node's local collections get none either, so that a name never
/// means one thing on one router and another on the next.
/// </summary>
public sealed class ClusterCollectionCatalog(LocalCollectionCatalog local, ClusterCoordinator cluster, ShardWriter writer)
    : ICollectionCatalog
{
    public CollectionHandle Open(string name) => cluster.SpecOf(name) is { } spec
        ? new CollectionHandle(new ShardedCollection(spec, cluster, writer))
        : local.Open(name);

    public async Task<CollectionStatus> CreateAsync(string name, HnswOptions options, ClusterPlacement placement, CancellationToken ct)
    {
        if (!placement.IsCluster)
        {
            if (cluster.SpecOf(name) is not null)
                throw new CollectionAlreadyExistsException(name, " (a cluster collection)");
            return await local.CreateAsync(name, options, placement, ct).ConfigureAwait(false);
        }
        foreach (CollectionStatus existing in local.List())
            if (existing.Name == name)
                throw new CollectionAlreadyExistsException(name, " (a local collection on this node)");
        ClusterCollectionSpec spec = await cluster.CreateCollectionAsync(name, options, placement.Shards, placement.Replicas, ct)
            .ConfigureAwait(false);
        return ClusterCollectionStatus.Of(view: null, spec);
    }

    public async Task DropAsync(string name, CancellationToken ct)
    {
        if (!await cluster.DropCollectionAsync(name, ct).ConfigureAwait(false))
            await local.DropAsync(name, ct).ConfigureAwait(false);
    }

    public IReadOnlyList<CollectionStatus> List()
    {
        var statuses = new List<CollectionStatus>(local.List());
        ClusterView view = cluster.View;
        foreach (VersionedSpec versioned in view.Collections.Values)
            statuses.Add(ClusterCollectionStatus.Of(view, versioned.Spec));
        statuses.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return statuses;
    }

    public Task<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(string name, CancellationToken ct)
    {
        if (cluster.SpecOf(name) is not null)
            throw new CollectionPreconditionException(
                $"collection '{name}' is a cluster collection: its replicas checkpoint on their own (--checkpoint-log-bytes, --checkpoint-records)");
        return local.CheckpointAsync(name, ct);
    }

    public Task<SnapshotLoadResult> LoadSnapshotAsync(string name, SnapshotSource source, CancellationToken ct) =>
        throw NotInClusterMode("LoadSnapshot and UploadSnapshot",
            "build the collection with Upsert, or load the snapshot into a single server");

    /// <summary>None: aliases cannot be made in cluster mode (see the class remarks).</summary>
    public IReadOnlyList<CollectionAlias> ListAliases() => [];

    public Task CreateAliasAsync(string alias, string collection, CancellationToken ct) => throw NotInClusterMode("aliases", "name the collection itself");

    public Task<string> SwitchAliasAsync(string alias, string collection, string? expectedCollection, CancellationToken ct) =>
        throw NotInClusterMode("aliases", "name the collection itself");

    public Task DeleteAliasAsync(string alias, CancellationToken ct) => throw NotInClusterMode("aliases", "name the collection itself");

    private static CollectionPreconditionException NotInClusterMode(string what, string instead) =>
        new($"{what} are not supported in cluster mode yet (they work on a single server, without --cluster-nats): {instead}");
}
