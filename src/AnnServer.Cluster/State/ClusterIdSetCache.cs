using System.Collections.Concurrent;
using AnnServer.Collections;
using AnnServer.Core.Filtering;
using Microsoft.Extensions.Logging;
using NATS.Client.KeyValueStore;

namespace AnnServer.Cluster.State;

/// <summary>
/// This node's copy of the cluster collections' stored id sets: every <c>id-sets.*</c> entry of the cluster state,
/// watched (replayed at start, then followed) and held as <see cref="IdSet"/>s, once per node whatever the number of
/// local replicas (each replica's index gets its own bitmap of the set). The local replicas look set names up here
/// (<see cref="SourceFor"/>); the router lists and counts from here.
/// </summary>
/// <remarks>
/// The sets are in the KV store rather than resent by the router to every replica: a node that starts, restarts or takes
/// a new replica later reads them from the bucket like the rest of the cluster state, and no router has to know which
/// nodes hold which shards at the moment of the put. The cost is that a put reaches the other nodes asynchronously
/// (docs/api.md, "Stored id sets").
/// </remarks>
public sealed class ClusterIdSetCache(ILogger<ClusterIdSetCache> logger) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string Collection, string Name), Held> _sets = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _watch = Task.CompletedTask;
    private int _disposed;

    /// <summary>A set as this node holds it, with the revision of its entry.</summary>
    public sealed record Held(IdSet Set, long CollectionCreatedUnixMs, DateTimeOffset? ExpiresAt, ulong Revision);

    /// <summary>Completes once the bucket's id sets have been read.</summary>
    public Task Synced => _synced.Task;

    /// <summary>Starts following the id sets of <paramref name="bucket"/>.</summary>
    public void Start(INatsKVStore bucket) => _watch = WatchAsync(bucket, _stop.Token);

    /// <summary>The sets a replica of the collection of <paramref name="spec"/> finds its filters' names in.</summary>
    public IIdSetSource SourceFor(ClusterCollectionSpec spec) => new Source(this, spec.Name, spec.CreatedUnixMs);

    /// <summary>The live sets of the collection, by name.</summary>
    public List<(string Name, Held Held)> Of(ClusterCollectionSpec spec)
    {
        var now = DateTimeOffset.UtcNow;
        var list = new List<(string, Held)>();
        foreach (var ((collection, name), held) in _sets)
            if (collection == spec.Name && held.CollectionCreatedUnixMs == spec.CreatedUnixMs && !(held.ExpiresAt <= now))
                list.Add((name, held));
        list.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return list;
    }

    /// <summary>Keys of sets of the collection that are expired or belong to an earlier collection of its name: for the
    /// router to delete from the bucket.</summary>
    public List<string> Stale(ClusterCollectionSpec spec)
    {
        var now = DateTimeOffset.UtcNow;
        var stale = new List<string>();
        foreach (var ((collection, name), held) in _sets)
            if (collection == spec.Name && (held.CollectionCreatedUnixMs != spec.CreatedUnixMs || held.ExpiresAt <= now))
                stale.Add(ClusterKeys.IdSet(collection, name));
        return stale;
    }

    /// <summary>Ids held in all sets (8 bytes each is what a set is charged in cluster mode).</summary>
    public long Bytes
    {
        get
        {
            long bytes = 0;
            foreach (Held held in _sets.Values) bytes += (long)held.Set.Count * sizeof(long);
            return bytes;
        }
    }

    /// <summary>Whether this node has seen the entry at <paramref name="revision"/> or a later one of the key.</summary>
    public bool HasSeen(string collection, string name, ulong revision) =>
        _sets.TryGetValue((collection, name), out Held? held) && held.Revision >= revision;

    private IdSet? Find(string collection, long createdUnixMs, string name)
    {
        if (!_sets.TryGetValue((collection, name), out Held? held) || held.CollectionCreatedUnixMs != createdUnixMs) return null;
        return held.ExpiresAt <= DateTimeOffset.UtcNow ? null : held.Set;
    }

    private async Task WatchAsync(INatsKVStore bucket, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var opts = new NatsKVWatchOpts { OnNoData = _ => { _synced.TrySetResult(); return ValueTask.FromResult(false); } };
                await foreach (NatsKVEntry<byte[]> entry in bucket.WatchAsync<byte[]>(ClusterKeys.AllIdSets, opts: opts, cancellationToken: ct)
                                   .ConfigureAwait(false))
                {
                    Apply(entry);
                    if (entry.Delta == 0) _synced.TrySetResult();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("Watching the cluster's stored id sets failed ({Message}); watching again in 1 s", e.Message);
            }
            try
            {
                await Task.Delay(1000, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Apply(NatsKVEntry<byte[]> entry)
    {
        if (ClusterKeys.ParseIdSet(entry.Key) is not { } key) return;
        if (entry.Operation != NatsKVOperation.Put || entry.Value is null)
        {
            _sets.TryRemove(key, out _);
            return;
        }
        if (ClusterJson.TryDeserialize<ClusterIdSetEntry>(entry.Value) is not { Ids: { } ids } value)
        {
            logger.LogWarning("Ignoring the unreadable cluster state entry {Key}", entry.Key);
            return;
        }
        DateTimeOffset? expiresAt = value.ExpiresAtUnixMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(value.ExpiresAtUnixMs) : null;
        _sets[key] = new Held(new IdSet(ids), value.CollectionCreatedUnixMs, expiresAt, entry.Revision);
    }

    /// <summary>Stops the watch; safe to call twice (the coordinator that started it and the container that made it
    /// both dispose it).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _watch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private sealed class Source(ClusterIdSetCache cache, string collection, long createdUnixMs) : IIdSetSource
    {
        public IdSet? Find(string name) => cache.Find(collection, createdUnixMs, name);
    }
}
