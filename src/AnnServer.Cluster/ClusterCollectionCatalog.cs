using AnnServer.Cluster.Import;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using Microsoft.Extensions.Logging;

namespace AnnServer.Cluster;

/// <summary>
/// A cluster node's catalog: the cluster collections (the cluster state's specs, <see cref="ShardedCollection"/>) and
/// the node's own collections (<see cref="LocalCollectionCatalog"/>) under one namespace: a name is either, never both.
/// Aliases live in the cluster state too (<c>aliases.{alias}</c> in the <c>ann-cluster</c> bucket), name cluster
/// collections only, and share that namespace: a switch is one compare-and-set on the alias's key, which every router's
/// watcher applies as it arrives (each router moves at once from the old collection to the new, within the watch's
/// delivery time of the others), and the call answers once this node's view has it. LoadSnapshot creates a cluster
/// collection from the files of <c>ann-build --shards</c> in this node's --import-dir (<see cref="ShardSnapshotImport"/>);
/// UploadSnapshot is refused with FAILED_PRECONDITION (one stream would have to carry S files).
/// </summary>
public sealed class ClusterCollectionCatalog(LocalCollectionCatalog local, ClusterCoordinator cluster, ShardWriter writer,
    SnapshotLoader loader, ILogger<ClusterCollectionCatalog> logger)
    : ICollectionCatalog
{
    private readonly ShardSnapshotImport _import = new(cluster, new ShardSnapshotStore(cluster.JetStream),
        loader.ImportDirectoryPath is { } importDir ? new ImportDirectory(importDir) : null, logger);

    private static readonly TimeSpan SeenTimeout = TimeSpan.FromSeconds(10);

    public CollectionHandle Open(string name)
    {
        ClusterView view = cluster.View;
        if (view.Spec(name) is { } spec)
            return new CollectionHandle(new ShardedCollection(spec, cluster, writer));
        if (view.AliasTarget(name) is { } target)
            return view.Spec(target) is { } aliased
                ? new CollectionHandle(new ShardedCollection(aliased, cluster, writer))
                : throw new CollectionNotFoundException(target, $"alias '{name}' names cluster collection '{target}', which does not exist");
        return local.Open(name);
    }

    public async Task<CollectionStatus> CreateAsync(string name, HnswOptions options, ClusterPlacement placement, CancellationToken ct)
    {
        if (cluster.View.AliasTarget(name) is { } aliased)
            throw new CollectionAlreadyExistsException(name, $" as an alias (of cluster collection '{aliased}'): aliases and collections share one namespace");
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
        ClusterView view = cluster.View;
        if (view.AliasTarget(name) is { } target)
            throw new CollectionPreconditionException(
                $"'{name}' is an alias (of collection '{target}'), not a collection: DeleteAlias removes an alias; DropCollection takes the collection's own name");
        List<string> aliases = AliasesOf(view, name);
        if (aliases.Count > 0)
            throw new CollectionPreconditionException(
                $"collection '{name}' is named by alias{(aliases.Count > 1 ? "es" : "")} {string.Join(", ", aliases.Select(a => $"'{a}'"))}: " +
                "switch or delete them first (SwitchAlias, DeleteAlias), so that no client is sent to a dropped collection");
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
        if (cluster.SpecOf(name) is not null || cluster.View.AliasTarget(name) is not null)
            throw new CollectionPreconditionException(
                $"collection '{name}' is a cluster collection: its replicas checkpoint on their own (--checkpoint-log-bytes, --checkpoint-records)");
        return local.CheckpointAsync(name, ct);
    }

    public Task<CollectionStatus> LinkFieldAsync(string name, string field, CancellationToken ct)
    {
        if (cluster.SpecOf(name) is not null || cluster.View.AliasTarget(name) is not null)
            throw new CollectionPreconditionException(
                $"collection '{name}' is a cluster collection: its linked fields are set when it is created (linked_fields of CreateCollection), " +
                "or carried by the ann-build --value-links snapshots it is loaded from");
        return local.LinkFieldAsync(name, field, ct);
    }

    public async Task<SnapshotLoadResult> LoadSnapshotAsync(string name, SnapshotSource source, CancellationToken ct)
    {
        if (source is not ImportedSnapshotFile file)
            throw new CollectionPreconditionException(
                "UploadSnapshot is not supported in cluster mode: a cluster collection is built from the S files of ann-build --shards; " +
                "put them in the --import-dir of a node and call LoadSnapshot with the name given to ann-build --output (docs/cluster.md)");
        SyncedStore();
        if (cluster.View.AliasTarget(name) is { } aliased)
            throw new CollectionAlreadyExistsException(name, $" as an alias (of cluster collection '{aliased}'): aliases and collections share one namespace");
        foreach (CollectionStatus existing in local.List())
            if (existing.Name == name)
                throw new CollectionAlreadyExistsException(name, " (a local collection on this node)");
        if (cluster.SpecOf(name) is not null)
            throw new CollectionAlreadyExistsException(name, " (a cluster collection)");
        return await _import.ImportAsync(name, file.Path, file.Replicas, ct).ConfigureAwait(false);
    }

    /// <summary>The cluster's aliases, as this node's view has them, sorted by alias.</summary>
    public IReadOnlyList<CollectionAlias> ListAliases()
    {
        var aliases = new List<CollectionAlias>();
        foreach (var (alias, collection) in cluster.View.Aliases)
            aliases.Add(new CollectionAlias(alias, collection));
        aliases.Sort((a, b) => string.CompareOrdinal(a.Alias, b.Alias));
        return aliases;
    }

    public async Task CreateAliasAsync(string alias, string collection, CancellationToken ct)
    {
        ClusterStateStore store = SyncedStore();
        ClusterView view = cluster.View;
        if (view.Spec(alias) is not null)
            throw new CollectionAlreadyExistsException(alias, " (a cluster collection): aliases and collections share one namespace");
        foreach (CollectionStatus existing in local.List())
            if (existing.Name == alias)
                throw new CollectionAlreadyExistsException(alias, " (a local collection on this node): aliases and collections share one namespace");
        ThrowIfNotAliasable(view, collection);
        if (!await store.TryCreateAliasAsync(alias, collection, ct).ConfigureAwait(false))
            throw new CollectionAlreadyExistsException(alias, $" as an alias (of '{view.AliasTarget(alias) ?? "another collection"}')");
        await WaitUntilSeenAsync(v => v.AliasTarget(alias) == collection, ct).ConfigureAwait(false);
    }

    public async Task<string> SwitchAliasAsync(string alias, string collection, string? expectedCollection, CancellationToken ct)
    {
        ClusterStateStore store = SyncedStore();
        ThrowIfNotAliasable(cluster.View, collection);
        string previous = await store.SwitchAliasAsync(alias, collection, expectedCollection, ct).ConfigureAwait(false);
        await WaitUntilSeenAsync(v => v.AliasTarget(alias) == collection, ct).ConfigureAwait(false);
        return previous;
    }

    public async Task DeleteAliasAsync(string alias, CancellationToken ct)
    {
        if (!await SyncedStore().DeleteAliasAsync(alias, ct).ConfigureAwait(false))
            throw new AliasNotFoundException(alias);
        await WaitUntilSeenAsync(v => v.AliasTarget(alias) is null, ct).ConfigureAwait(false);
    }

    /// <summary>In cluster mode an alias names a cluster collection: a node's local collection is not on the other
    /// routers, which would resolve the alias to nothing.</summary>
    private void ThrowIfNotAliasable(ClusterView view, string collection)
    {
        if (view.AliasTarget(collection) is { } target)
            throw new ArgumentException(
                $"collection '{collection}' is an alias (of '{target}'): an alias names a collection, not another alias; give '{target}'",
                nameof(collection));
        if (view.Spec(collection) is not null)
            return;
        foreach (CollectionStatus existing in local.List())
            if (existing.Name == collection)
                throw new CollectionPreconditionException(
                    $"collection '{collection}' is a local collection of this node: in cluster mode an alias names a cluster collection, which every router can reach");
        throw new CollectionNotFoundException(collection);
    }

    private static List<string> AliasesOf(ClusterView view, string collection)
    {
        var aliases = new List<string>();
        foreach (var (alias, target) in view.Aliases)
            if (target == collection) aliases.Add(alias);
        aliases.Sort(StringComparer.Ordinal);
        return aliases;
    }

    private ClusterStateStore SyncedStore() => cluster.IsSynced && cluster.Store is { } store
        ? store
        : throw new CollectionUnavailableException("this node has not loaded the cluster state yet; retry shortly");

    /// <summary>Waits until this node's view shows the change, so that the caller's next call through this node sees it.</summary>
    private async Task WaitUntilSeenAsync(Func<ClusterView, bool> condition, CancellationToken ct)
    {
        if (cluster.Watcher is not { } watcher) return;
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(SeenTimeout);
        try
        {
            await watcher.WaitForAsync(condition, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Written to the cluster state; this node's watcher is slow to deliver it. The change holds all the same.
        }
    }
}
