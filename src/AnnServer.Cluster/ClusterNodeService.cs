using AnnServer.Cluster.State;
using AnnServer.Collections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AnnServer.Cluster;

/// <summary>
/// This node's life in the cluster (hosted service, cluster mode only): once the server listens, opens the cluster state,
/// then every heartbeat re-puts its node entry (which expires after the node TTL if it stops) and its replicas' states,
/// and whenever the state changes, makes the local replicas match the shard map: <see cref="ShardReplicas.EnsureAsync"/>
/// for each (collection, shard) assigned to this node, <see cref="ShardReplicas.RemoveAsync"/> for each local replica
/// no longer assigned (a removed replica or a dropped collection).
/// </summary>
public sealed class ClusterNodeService(
    ClusterCoordinator coordinator,
    ShardReplicas replicas,
    CollectionRegistry registry,
    ClusterOptions options,
    INodeAddress nodeAddress,
    IHostApplicationLifetime lifetime,
    ILogger<ClusterNodeService> logger) : BackgroundService
{
    /// <summary>How often replica states are compared with what was last reported, so that "serving" shows up well
    /// before the next heartbeat.</summary>
    private static readonly TimeSpan StatePoll = TimeSpan.FromMilliseconds(100);

    private readonly Dictionary<(string Collection, int Shard), ShardReplicaStatus> _reported = new();
    /// <summary>Replicas started, with the creation time of the collection they were started for: a collection dropped
    /// and created again under the same name between two looks is a new collection, and its replica is started again.</summary>
    private readonly Dictionary<(string Collection, int Shard), long> _ensured = new();
    private readonly long _startedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>True once this node has registered and made its replicas match the shard map once: readiness needs it,
    /// because before that "every local replica serving" is trivially true.</summary>
    public bool Reconciled { get; private set; }

    /// <summary>The gRPC address this node announces.</summary>
    public string? Address { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The bound port is known only once Kestrel listens (port 0 in tests).
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            await started.Task.WaitAsync(stoppingToken);
        Address = options.AdvertiseAddress ?? nodeAddress.GrpcAddress;

        try
        {
            await coordinator.OpenAsync(stoppingToken);
            // Replicas are local collections beside the others: start them only once the data directory is loaded.
            while (!registry.IsLoaded)
                await Task.Delay(50, stoppingToken);
            logger.LogInformation("Cluster node {NodeId} ({Role}) announces {Address}", options.NodeId, options.ClusterRole.Name(), Address);
            // The node entry has a loop of its own: starting or removing a replica (opening or deleting its files) can
            // take longer than the node TTL, and must not make the node look dead meanwhile.
            Task heartbeats = HeartbeatLoopAsync(Address, stoppingToken);
            try
            {
                await ReplicaLoopAsync(stoppingToken);
            }
            finally
            {
                // So that no heartbeat lands after StopAsync has withdrawn the node entry.
                await heartbeats.ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task HeartbeatLoopAsync(string address, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.HeartbeatMs));
        do
        {
            try
            {
                await coordinator.Store!.PutNodeAsync(new NodeEntry(options.NodeId, address, options.ClusterRole.Name(),
                    _startedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), NodeCapabilities.OfThisVersion,
                    NodeCapabilities.ProductVersion), stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // NATS unreachable or in a leader election: keep serving what we have, try again at the next beat.
                logger.LogWarning("Cluster heartbeat of node {NodeId} failed: {Message}", options.NodeId, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Makes the local replicas match the shard map whenever the view changes, and reports their states: those
    /// that changed within <see cref="StatePoll"/>, all of them every heartbeat period.</summary>
    private async Task ReplicaLoopAsync(CancellationToken stoppingToken)
    {
        bool holdsReplicas = options.ClusterRole.HoldsReplicas();
        DateTime nextRefresh = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            Task change = coordinator.Watcher!.NextChange;
            bool refresh = DateTime.UtcNow >= nextRefresh;
            try
            {
                if (holdsReplicas)
                {
                    await ReconcileAsync(coordinator.View, retryFailed: refresh, stoppingToken);
                    await ReportStatesAsync(everything: refresh, stoppingToken);
                }
                Reconciled = true;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Updating the replicas of node {NodeId} failed: {Message}", options.NodeId, e.Message);
            }
            if (refresh)
                nextRefresh = DateTime.UtcNow.AddMilliseconds(options.HeartbeatMs);
            await Task.WhenAny(change, Task.Delay(StatePoll, stoppingToken));
        }
    }

    /// <summary>At a clean stop, withdraws the node entry so that routers stop choosing this node at once instead of
    /// after the node TTL.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (coordinator.Store is not { } store)
            return;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
            await store.NodesBucket.DeleteAsync(options.NodeId, cancellationToken: timeout.Token);
        }
        catch (Exception e)
        {
            logger.LogInformation("Could not withdraw node {NodeId} from the cluster state at stop ({Message}); it expires after the node TTL",
                options.NodeId, e.Message);
        }
    }

    private async Task ReconcileAsync(ClusterView view, bool retryFailed, CancellationToken ct)
    {
        var assigned = new HashSet<(string, int)>();
        foreach (var (spec, shard) in view.AssignedTo(options.NodeId))
        {
            assigned.Add((spec.Name, shard));
            bool failed = retryFailed && _reported.TryGetValue((spec.Name, shard), out ShardReplicaStatus? status) && status.State == ShardReplicaStates.Failed;
            bool started = _ensured.TryGetValue((spec.Name, shard), out long createdUnixMs) && createdUnixMs == spec.CreatedUnixMs;
            if (!started || failed)
            {
                _ensured[(spec.Name, shard)] = spec.CreatedUnixMs;
                _reported.Remove((spec.Name, shard));
                logger.LogInformation("Replica of collection {Collection} shard {Shard} assigned to this node: starting it", spec.Name, shard);
                await replicas.EnsureAsync(spec, shard, ct);
            }
        }
        var local = replicas.Statuses().Select(s => (s.Collection, s.Shard)).Concat(_ensured.Keys).Distinct().ToList();
        foreach (var (collection, shard) in local)
        {
            if (assigned.Contains((collection, shard)))
                continue;
            logger.LogInformation("Replica of collection {Collection} shard {Shard} no longer assigned to this node: removing it", collection, shard);
            await replicas.RemoveAsync(collection, shard);
            _ensured.Remove((collection, shard));
            _reported.Remove((collection, shard));
            if (view.Spec(collection) is not null)
                await coordinator.Store!.DeleteReplicaAsync(new ReplicaKey(collection, shard, options.NodeId), ct);
        }
    }

    /// <summary>Puts the state of every local replica whose state changed (and of all of them when
    /// <paramref name="everything"/>: the heartbeat refresh).</summary>
    private async Task ReportStatesAsync(bool everything, CancellationToken ct)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (ShardReplicaStatus status in replicas.Statuses())
        {
            var key = (status.Collection, status.Shard);
            if (!_ensured.ContainsKey(key))
                continue;
            bool changed = !_reported.TryGetValue(key, out ShardReplicaStatus? last) || last.State != status.State;
            if (!changed && !everything)
                continue;
            await coordinator.Store!.PutReplicaAsync(new ReplicaKey(status.Collection, status.Shard, options.NodeId),
                new ReplicaEntry(status.State, status.AppliedSequence, now, PointCount(status), status.DurableSequence), ct);
            _reported[key] = status;
        }
    }

    /// <summary>Live points of a serving replica (for CollectionInfo.count of the cluster collection); 0 otherwise.</summary>
    private long PointCount(ShardReplicaStatus status)
    {
        using CollectionLease? lease = replicas.TryAcquireServing(status.Collection, status.Shard, out _);
        return lease?.Collection.Count ?? 0;
    }
}
