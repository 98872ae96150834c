using AnnServer.Cluster.State;
using AnnServer.Collections;
using NATS.Client.KeyValueStore;

namespace AnnServer.Cluster;

/// <summary>
/// A cluster collection's stored id sets, as any node routes them: a put or delete writes the set's entry in the cluster
/// state (<see cref="ClusterKeys.IdSet"/>), from which every node's <see cref="ClusterIdSetCache"/> takes it for its
/// replicas; a list reads this node's cache. Answers once this node's cache has the change; other nodes follow within
/// the time NATS takes to deliver it (docs/api.md, "Stored id sets").
/// </summary>
public sealed class ClusterIdSets(ClusterCollectionSpec spec, ClusterCoordinator cluster) : ICollectionIdSets
{
    /// <summary>Bytes of one entry: NATS refuses messages over its max_payload (1 MiB by default).</summary>
    public const int MaxEntryBytes = (1 << 20) - 4096;

    private static readonly TimeSpan SeenWithin = TimeSpan.FromSeconds(5);

    public async ValueTask<IdSetInfo> PutAsync(string name, long[] ids, TimeSpan? ttl, CancellationToken ct)
    {
        IdSetName.Validate(name);
        if (ttl is { } t && t <= TimeSpan.Zero) throw new ArgumentException($"ttl_seconds is {t.TotalSeconds}: a TTL is positive (0 or absent: none)", "ttl_seconds");
        (ClusterStateStore store, ClusterIdSetCache cache) = Open();
        IdSetLimits limits = cluster.IdSetLimits;
        if (ids.Length > limits.MaxIdsPerSet)
            throw new LimitExceededException($"ids has {ids.Length:N0} ids, more than the limit max-ids-per-set ({limits.MaxIdsPerSet:N0})");
        await DeleteStaleAsync(store, cache, ct).ConfigureAwait(false);

        var held = cache.Of(spec);
        bool replaces = held.Exists(s => s.Name == name);
        if (!replaces && held.Count >= limits.MaxSetsPerCollection)
            throw new LimitExceededException(
                $"collection '{spec.Name}' holds {held.Count} id sets, the limit max-id-sets ({limits.MaxSetsPerCollection}): delete one or raise --max-id-sets");
        var set = new Core.Filtering.IdSet(ids);
        long bytes = (long)set.Count * sizeof(long);
        long released = replaces ? (long)held.Find(s => s.Name == name).Held.Set.Count * sizeof(long) : 0;
        if (cache.Bytes - released + bytes > limits.MaxTotalBytes)
            throw new LimitExceededException(
                $"id set '{name}' ({set.Count:N0} ids) needs {bytes:N0} bytes, and the cluster's id sets hold {cache.Bytes:N0} of the limit " +
                $"max-id-set-bytes ({limits.MaxTotalBytes:N0}): delete sets, give them shorter TTLs, or raise --max-id-set-bytes");

        DateTimeOffset? expiresAt = ttl is { } live ? DateTimeOffset.UtcNow + live : null;
        byte[] value = ClusterJson.Serialize(new ClusterIdSetEntry(spec.CreatedUnixMs, expiresAt?.ToUnixTimeMilliseconds() ?? 0, set.Ids.ToArray()));
        if (value.Length > MaxEntryBytes)
            throw new LimitExceededException(
                $"id set '{name}' takes {value.Length:N0} bytes in the cluster state, more than the limit of {MaxEntryBytes:N0} of a cluster " +
                "state entry (NATS max_payload): put fewer ids per set in cluster mode");
        ulong revision = await store.ClusterBucket.PutAsync(ClusterKeys.IdSet(spec.Name, name), value, cancellationToken: ct).ConfigureAwait(false);
        await WaitUntilSeenAsync(() => cache.HasSeen(spec.Name, name, revision), ct).ConfigureAwait(false);
        return new IdSetInfo(name, set.Count, bytes, expiresAt);
    }

    public async ValueTask<bool> DeleteAsync(string name, CancellationToken ct)
    {
        IdSetName.Validate(name);
        (ClusterStateStore store, ClusterIdSetCache cache) = Open();
        bool held = cache.Of(spec).Exists(s => s.Name == name);
        if (!held) return false;
        await store.ClusterBucket.DeleteAsync(ClusterKeys.IdSet(spec.Name, name), cancellationToken: ct).ConfigureAwait(false);
        await WaitUntilSeenAsync(() => !cache.Of(spec).Exists(s => s.Name == name), ct).ConfigureAwait(false);
        return true;
    }

    public async ValueTask<IReadOnlyList<IdSetInfo>> ListAsync(CancellationToken ct)
    {
        (ClusterStateStore store, ClusterIdSetCache cache) = Open();
        await DeleteStaleAsync(store, cache, ct).ConfigureAwait(false);
        var list = new List<IdSetInfo>();
        foreach (var (name, held) in cache.Of(spec))
            list.Add(new IdSetInfo(name, held.Set.Count, (long)held.Set.Count * sizeof(long), held.ExpiresAt));
        return list;
    }

    private (ClusterStateStore Store, ClusterIdSetCache Cache) Open() =>
        cluster.Store is { } store && cluster.IdSets is { } cache
            ? (store, cache)
            : throw new CollectionUnavailableException("the cluster state is not open yet: try again shortly");

    /// <summary>Expired sets, and sets of an earlier collection of this name, leave the bucket when the collection's
    /// sets are next put or listed (nodes already ignore them).</summary>
    private async Task DeleteStaleAsync(ClusterStateStore store, ClusterIdSetCache cache, CancellationToken ct)
    {
        foreach (string key in cache.Stale(spec))
        {
            try
            {
                await store.ClusterBucket.DeleteAsync(key, cancellationToken: ct).ConfigureAwait(false);
            }
            catch (NatsKVException)
            {
                // Another node deleted or replaced it meanwhile.
            }
        }
    }

    private static async Task WaitUntilSeenAsync(Func<bool> seen, CancellationToken ct)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!seen() && waited.Elapsed < SeenWithin) await Task.Delay(5, ct).ConfigureAwait(false);
    }
}
