using Microsoft.Extensions.Logging;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;

namespace AnnServer.Cluster.State;

/// <summary>
/// Keeps <see cref="Current"/>, this node's <see cref="ClusterView"/>, up to date by watching both state buckets.
/// A watch replays every key, then streams changes. When a watch fails (NATS unreachable), it is restarted and its
/// replay is collected aside and swapped in whole once complete, so a delete missed during the outage cannot leave a
/// stale entry, and the view never shows half a bucket.
/// </summary>
public sealed class ClusterWatcher(ClusterStateStore store, TimeSpan nodeTtl, ILogger logger) : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _clusterSynced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _nodesSynced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Dictionary<string, VersionedSpec> _collections = new(StringComparer.Ordinal);
    private Dictionary<ReplicaKey, ReplicaEntry> _replicas = new();
    private Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private Dictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile ClusterView _current = ClusterView.Empty(nodeTtl);
    private Task[] _loops = [];

    /// <summary>The latest view. Replaced (never changed) on every change.</summary>
    public ClusterView Current => _current;

    /// <summary>Completes once both buckets have been read whole for the first time (every entry written before
    /// <see cref="Start"/> is then in <see cref="Current"/>).</summary>
    public Task Synced => Task.WhenAll(_clusterSynced.Task, _nodesSynced.Task);

    /// <summary>Tests: runs between reading where a bucket's replay ends and starting its watch, given the bucket name.</summary>
    internal Func<string, Task>? AfterReadingTheEnd { get; init; }

    /// <summary>A task that completes at the next change of <see cref="Current"/>.</summary>
    public Task NextChange
    {
        get { lock (_gate) return _changed.Task; }
    }

    public void Start()
    {
        _loops =
        [
            Task.Run(() => WatchAsync(store.ClusterBucket, ApplyCluster, ReplaceCluster, _clusterSynced)),
            Task.Run(() => WatchAsync(store.NodesBucket, ApplyNode, ReplaceNodes, _nodesSynced)),
        ];
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the current view, or the token fires.</summary>
    public async Task<bool> WaitForAsync(Func<ClusterView, bool> condition, CancellationToken ct)
    {
        while (true)
        {
            Task next = NextChange;
            if (condition(Current))
                return true;
            // Liveness changes with time, not only with entries: look again at least every 200 ms.
            await Task.WhenAny(next, Task.Delay(200, ct)).ConfigureAwait(false);
            if (ct.IsCancellationRequested)
                return condition(Current);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }

    private delegate void ApplyEntry(NatsKVEntry<byte[]> entry, bool live);

    /// <summary>How often a replay that has not reached its end looks whether the entries up to its end expired.</summary>
    private static readonly TimeSpan ReplayRecheck = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Watches one bucket: replays every key aside, swaps the replay in whole, then applies changes as they come.
    /// <para>
    /// The replay ends at the bucket's last stream sequence, read just before the watch starts: the watch delivers the
    /// last entry of every key in stream order, so once an entry at or past that sequence has been applied, so has every
    /// entry written before the watch (one written over since comes later, with a higher sequence). The watch's own
    /// end signals are not used, being inexact: <c>OnNoData</c> (NATS.Net 3.3.2) trusts the NumPending of the
    /// consumer-create reply, which the server may compute after the push consumer has started sending (the client
    /// subscribes first; nats.go adds Delivered.Consumer for this reason), so it can mean "all sent" as well as "nothing
    /// to send"; an entry's <c>Delta</c> is the server's pending count, which some server versions got wrong. An entry
    /// at or before the end can still vanish undelivered by expiring (ann-nodes has a MaxAge; everything else that
    /// removes an entry writes a newer one), so a replay not done within <see cref="ReplayRecheck"/> looks at the bucket
    /// again, and is complete once nothing at or before its end is left there (expiry removes the oldest first, so then
    /// the bucket is empty or starts past the end).
    /// </para>
    /// </summary>
    private async Task WatchAsync(INatsKVStore bucket, ApplyEntry apply, Action replaceAll, TaskCompletionSource synced)
    {
        CancellationToken ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            bool replayed = false; // under _gate, like the maps
            void EndOfReplay()
            {
                if (replayed) return;
                replayed = true;
                replaceAll();
                // The view first, then Synced: a waiter woken by Synced reads Current at once and must find the replay
                // there (publishing after it let a waiter on another thread see the view from before the replay).
                Publish();
                synced.TrySetResult();
            }
            using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Task expiryCheck = Task.CompletedTask;
            try
            {
                lock (_gate) BeginReplay(bucket);
                StreamState before = (await bucket.GetStatusAsync(ct).ConfigureAwait(false)).Info.State;
                ulong end = before.Messages == 0 ? 0 : before.LastSeq;
                if (AfterReadingTheEnd is { } hook)
                    await hook(bucket.Bucket).ConfigureAwait(false);
                async Task EndIfExpiredAsync(CancellationToken token)
                {
                    while (true)
                    {
                        await Task.Delay(ReplayRecheck, token).ConfigureAwait(false);
                        lock (_gate)
                            if (replayed) return;
                        try
                        {
                            StreamState now = (await bucket.GetStatusAsync(token).ConfigureAwait(false)).Info.State;
                            if (now.Messages == 0 || now.FirstSeq > end)
                                lock (_gate) EndOfReplay();
                        }
                        catch (Exception e) when (!token.IsCancellationRequested)
                        {
                            logger.LogDebug("Looking again at the cluster state bucket {Bucket} failed ({Message})", bucket.Bucket, e.Message);
                        }
                    }
                }
                if (end == 0)
                    lock (_gate) EndOfReplay();
                else
                    expiryCheck = EndIfExpiredAsync(watching.Token);
                await foreach (NatsKVEntry<byte[]> entry in bucket.WatchAsync<byte[]>(cancellationToken: ct).ConfigureAwait(false))
                {
                    bool live;
                    lock (_gate)
                    {
                        live = replayed;
                        apply(entry, live);
                        if (!live && entry.Revision >= end)
                            EndOfReplay();
                    }
                    if (live)
                        Publish();
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("Watching the cluster state bucket {Bucket} failed ({Message}); watching again in 1 s", bucket.Bucket, e.Message);
            }
            finally
            {
                // Before the next watch begins its replay: this one's check must not end that one.
                await watching.CancelAsync().ConfigureAwait(false);
                await expiryCheck.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
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

    // During a replay, entries go to these fresh maps; at its end they replace the published ones.
    private Dictionary<string, VersionedSpec>? _freshCollections;
    private Dictionary<ReplicaKey, ReplicaEntry>? _freshReplicas;
    private Dictionary<string, string>? _freshAliases;
    private Dictionary<string, NodeEntry>? _freshNodes;

    private void BeginReplay(INatsKVStore bucket)
    {
        if (bucket == store.ClusterBucket)
        {
            _freshCollections = new(StringComparer.Ordinal);
            _freshReplicas = new();
            _freshAliases = new(StringComparer.Ordinal);
        }
        else
        {
            _freshNodes = new(StringComparer.Ordinal);
        }
    }

    private void ReplaceCluster()
    {
        _collections = _freshCollections!;
        _replicas = _freshReplicas!;
        _aliases = _freshAliases!;
        _freshCollections = null;
        _freshReplicas = null;
        _freshAliases = null;
    }

    private void ReplaceNodes()
    {
        _nodes = _freshNodes!;
        _freshNodes = null;
    }

    private void ApplyCluster(NatsKVEntry<byte[]> entry, bool live)
    {
        var collections = live ? _collections : _freshCollections!;
        var replicas = live ? _replicas : _freshReplicas!;
        var aliases = live ? _aliases : _freshAliases!;
        bool removed = entry.Operation != NatsKVOperation.Put || entry.Value is null;
        if (ClusterKeys.ParseCollection(entry.Key) is { } name)
        {
            if (removed)
                collections.Remove(name);
            else if (ClusterJson.TryDeserialize<ClusterCollectionSpec>(entry.Value) is { } spec && IsConsistent(spec))
                collections[name] = new VersionedSpec(spec, entry.Revision);
            else
                logger.LogWarning("Ignoring the unreadable cluster state entry {Key}", entry.Key);
        }
        else if (ClusterKeys.ParseAlias(entry.Key) is { } alias)
        {
            if (removed)
                aliases.Remove(alias);
            else if (ClusterJson.TryDeserialize<ClusterAliasEntry>(entry.Value) is { Collection: { } target })
                aliases[alias] = target;
            else
                logger.LogWarning("Ignoring the unreadable cluster state entry {Key}", entry.Key);
        }
        else if (ClusterKeys.ParseReplica(entry.Key) is { } key)
        {
            if (removed)
                replicas.Remove(key);
            else if (ClusterJson.TryDeserialize<ReplicaEntry>(entry.Value) is { } replica)
                replicas[key] = replica;
        }
    }

    private void ApplyNode(NatsKVEntry<byte[]> entry, bool live)
    {
        var nodes = live ? _nodes : _freshNodes!;
        if (entry.Operation != NatsKVOperation.Put || entry.Value is null)
            nodes.Remove(entry.Key);
        else if (ClusterJson.TryDeserialize<NodeEntry>(entry.Value) is { } node && node.NodeId == entry.Key)
            nodes[entry.Key] = node;
    }

    /// <summary>A spec whose shard map does not match its shard count would make every reader index out of range.</summary>
    private static bool IsConsistent(ClusterCollectionSpec spec) =>
        spec.Shards >= 1 && spec.ShardReplicaNodeIds is { } map && map.Count == spec.Shards && map.All(nodes => nodes is not null);

    private void Publish()
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            _current = new ClusterView(
                new Dictionary<string, VersionedSpec>(_collections, StringComparer.Ordinal),
                new Dictionary<string, NodeEntry>(_nodes, StringComparer.Ordinal),
                new Dictionary<ReplicaKey, ReplicaEntry>(_replicas),
                nodeTtl,
                new Dictionary<string, string>(_aliases, StringComparer.Ordinal));
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }
}
