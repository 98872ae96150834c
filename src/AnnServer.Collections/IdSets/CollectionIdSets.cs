using AnnServer.Core.Filtering;

namespace AnnServer.Collections;

/// <summary>
/// One collection's stored id sets on this node (see <see cref="ICollectionIdSets"/>): the sets its filters name,
/// looked up when a filter is compiled (<see cref="IIdSetSource"/>). A set past its TTL is gone: the next lookup, list
/// or put over the budget drops it, and a filter naming it is refused like one naming a set never put.
/// </summary>
/// <remarks>Bytes charged per set: 8 per distinct id, and 1 bit per node of the collection when it was put (the bitmap
/// the engine builds over the node slots when a filter first names it; <see cref="IdSet"/>).</remarks>
public sealed class CollectionIdSets : ICollectionIdSets, IIdSetSource
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _sets = new(StringComparer.Ordinal);
    private readonly IdSetPool _pool;
    private readonly string _collection;
    private readonly Func<int> _nodeCount;
    private bool _closed;

    private sealed record Entry(IdSet Set, long Bytes, DateTimeOffset? ExpiresAt);

    /// <param name="nodeCount">the collection's node slots now (tombstones included), for the bitmap's share of a set's bytes.</param>
    public CollectionIdSets(string collection, IdSetPool pool, Func<int> nodeCount)
    {
        _collection = collection;
        _pool = pool;
        _nodeCount = nodeCount;
        pool.Register(this);
    }

    public int Count
    {
        get { lock (_lock) return _sets.Count; }
    }

    /// <exception cref="ArgumentException">a bad name, ttl ≤ 0, too many ids.</exception>
    /// <exception cref="LimitExceededException">max-id-sets or max-id-set-bytes.</exception>
    public IdSetInfo Put(string name, long[] ids, TimeSpan? ttl)
    {
        IdSetName.Validate(name);
        ArgumentNullException.ThrowIfNull(ids);
        IdSetLimits limits = _pool.Limits;
        if (ids.Length > limits.MaxIdsPerSet)
            throw new LimitExceededException($"ids has {ids.Length:N0} ids, more than the limit max-ids-per-set ({limits.MaxIdsPerSet:N0})");
        if (ttl is { } t && t <= TimeSpan.Zero) throw new ArgumentException($"ttl_seconds is {t.TotalSeconds}: a TTL is positive (0 or absent: none)", "ttl_seconds");

        var set = new IdSet(ids);
        long bytes = IdSet.EstimateBytes(set.Count, _nodeCount());
        DateTimeOffset now = _pool.Clock.GetUtcNow();
        DateTimeOffset? expiresAt = ttl is { } live ? now + live : null;
        // Over the budget, the expired sets of every collection go first; never while holding this lock (another
        // collection's put may hold its own and want this one).
        for (int attempt = 0; ; attempt++)
        {
            lock (_lock)
            {
                if (_closed) throw new CollectionNotFoundException(_collection);
                DropExpiredLocked(now);
                _sets.TryGetValue(name, out Entry? replaced);
                if (replaced is null && _sets.Count >= limits.MaxSetsPerCollection)
                    throw new LimitExceededException(
                        $"collection '{_collection}' holds {_sets.Count} id sets, the limit max-id-sets ({limits.MaxSetsPerCollection}): delete one or raise --max-id-sets");
                if (_pool.TryCharge(bytes, replaced?.Bytes ?? 0))
                {
                    _sets[name] = new Entry(set, bytes, expiresAt);
                    break;
                }
                if (attempt > 0) throw _pool.BudgetExceeded(bytes, $"id set '{name}' ({set.Count:N0} ids)");
            }
            _pool.DropExpiredEverywhere();
        }
        return new IdSetInfo(name, set.Count, bytes, expiresAt);
    }

    public bool Delete(string name)
    {
        IdSetName.Validate(name);
        lock (_lock)
        {
            if (!_sets.Remove(name, out Entry? removed)) return false;
            _pool.Release(removed.Bytes);
            return removed.ExpiresAt is not { } at || at > _pool.Clock.GetUtcNow();
        }
    }

    public IReadOnlyList<IdSetInfo> List()
    {
        lock (_lock)
        {
            DropExpiredLocked(_pool.Clock.GetUtcNow());
            var list = new List<IdSetInfo>(_sets.Count);
            foreach (var (name, entry) in _sets) list.Add(new IdSetInfo(name, entry.Set.Count, entry.Bytes, entry.ExpiresAt));
            list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return list;
        }
    }

    public IdSet? Find(string name)
    {
        lock (_lock)
        {
            if (!_sets.TryGetValue(name, out Entry? entry)) return null;
            if (entry.ExpiresAt is { } at && at <= _pool.Clock.GetUtcNow())
            {
                _sets.Remove(name);
                _pool.Release(entry.Bytes);
                return null;
            }
            return entry.Set;
        }
    }

    /// <summary>Drops every set and refuses later puts: the collection is closed or dropped.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var entry in _sets.Values) _pool.Release(entry.Bytes);
            _sets.Clear();
        }
    }

    internal void DropExpired()
    {
        lock (_lock) DropExpiredLocked(_pool.Clock.GetUtcNow());
    }

    private void DropExpiredLocked(DateTimeOffset now)
    {
        List<string>? expired = null;
        foreach (var (name, entry) in _sets)
            if (entry.ExpiresAt is { } at && at <= now) (expired ??= []).Add(name);
        if (expired is null) return;
        foreach (string name in expired)
        {
            _pool.Release(_sets[name].Bytes);
            _sets.Remove(name);
        }
    }

    ValueTask<IdSetInfo> ICollectionIdSets.PutAsync(string name, long[] ids, TimeSpan? ttl, CancellationToken ct) => new(Put(name, ids, ttl));

    ValueTask<bool> ICollectionIdSets.DeleteAsync(string name, CancellationToken ct) => new(Delete(name));

    ValueTask<IReadOnlyList<IdSetInfo>> ICollectionIdSets.ListAsync(CancellationToken ct) => new(List());
}
