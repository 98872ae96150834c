using AnnServer.Cluster.Replication;
using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Core;
using AnnServer.Cluster.Transport;
using AnnServer.Collections;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace AnnServer.Cluster;

/// <summary>
/// This node's handle on the cluster (singleton, cluster mode only): the connection to the state buckets, the watcher's
/// <see cref="View"/>, the <see cref="Router"/>, and the admin operations on cluster collections (create, drop, assign
/// and remove replicas). Admin operations fail with the data plane's exceptions (docs/api.md, errors), whose messages
/// name what was wrong.
/// </summary>
public sealed class ClusterCoordinator : IAsyncDisposable
{
    /// <summary>Most shards of one collection: each is a stream and a local collection per replica.</summary>
    public const int MaxShards = 1024;

    private readonly ClusterOptions _options;
    private readonly ILogger<ClusterCoordinator> _logger;
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ClusterStateStore? _store;
    private ClusterWatcher? _watcher;

    public ClusterCoordinator(ClusterOptions options, INatsConnection nats, ILogger<ClusterCoordinator> logger,
        LocalShards? localShards = null, ClusterIdSetCache? idSets = null, IdSetPool? idSetPool = null)
    {
        IdSets = idSets;
        IdSetLimits = idSetPool?.Limits ?? new IdSetLimits();
        _options = options;
        _logger = logger;
        JetStream = new NatsJSContext(nats);
        Channels = new NodeChannels(options.ClusterApiKey);
        Router = new ShardRouter(new RouterSettings
        {
            HedgeAfter = options.HedgeAfterMs > 0 ? TimeSpan.FromMilliseconds(options.HedgeAfterMs) : null,
        }, new RemoteShardReader(Channels), options.ClusterRole.HoldsReplicas() ? localShards : null, options.NodeId);
        PayloadFields = new PayloadFieldRegistry(() => _store);
    }

    public string NodeId => _options.NodeId;
    public ClusterRole Role => _options.ClusterRole;
    public INatsJSContext JetStream { get; }
    public NodeChannels Channels { get; }
    public ShardRouter Router { get; }

    /// <summary>The payload field kinds of the cluster collections, reserved cluster-wide before a write introduces a field.</summary>
    public PayloadFieldRegistry PayloadFields { get; }
    public TimeSpan NodeTtl => TimeSpan.FromMilliseconds(_options.NodeTtlMs);

    /// <summary>This node's copy of the cluster collections' stored id sets (null: none kept, as in some tests).</summary>
    public ClusterIdSetCache? IdSets { get; }

    /// <summary>The bounds a put of a stored id set is checked against.</summary>
    public IdSetLimits IdSetLimits { get; }


    /// <summary>The cluster state as last seen (empty until the buckets have been read).</summary>
    public ClusterView View => _watcher?.Current ?? ClusterView.Empty(NodeTtl);

    /// <summary>True once both state buckets have been read whole: before that, a missing collection may just not have
    /// been seen yet.</summary>
    public bool IsSynced => _watcher?.Synced.IsCompletedSuccessfully == true;

    public ClusterWatcher? Watcher => _watcher;
    public ClusterStateStore? Store => _store;

    /// <summary>The cluster collection named <paramref name="name"/> in the current view, or null.</summary>
    public ClusterCollectionSpec? SpecOf(string name) => View.Spec(name);

    /// <summary>Creates (or finds) the state buckets and starts watching them; retried until NATS answers.</summary>
    public async Task OpenAsync(CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                _store = await ClusterStateStore.OpenAsync(JetStream, _options.StreamReplicas, NodeTtl, ct).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                _logger.LogWarning("Cannot open the cluster state buckets on {Nats} (attempt {Attempt}): {Message}; retrying in 1 s",
                    _options.ClusterNats, attempt, e.Message);
                await Task.Delay(1000, ct).ConfigureAwait(false);
            }
        }
        _watcher = new ClusterWatcher(_store, NodeTtl, _logger);
        _watcher.Start();
        IdSets?.Start(_store.ClusterBucket);
        _opened.TrySetResult();
        await _watcher.Synced.WaitAsync(ct).ConfigureAwait(false);
        _logger.LogInformation("Cluster state loaded: {Collections} collection(s), {Nodes} node(s)",
            _watcher.Current.Collections.Count, _watcher.Current.Nodes.Count);
    }

    /// <summary>
    /// Creates a cluster collection: its streams, then its spec with replicas assigned round-robin over the live
    /// replica-capable nodes (sorted by id; shard s, replica r → node (s·R + r) mod n, so each shard's replicas are on
    /// distinct nodes and the shards spread evenly). Only nodes that announce what the collection needs count
    /// (<see cref="NodeCapabilities.NeededFor"/>): an int4 collection goes only to nodes that can read its spec. Waits
    /// (within <paramref name="ct"/>, at most 15 s) until every shard has a serving replica, so that a search right
    /// after the answer finds one.
    /// </summary>
    public async Task<ClusterCollectionSpec> CreateCollectionAsync(string name, HnswOptions options, int shards, int replicas,
        CancellationToken ct)
    {
        ClusterCollectionSpec spec = await PlanCollectionAsync(name, options, shards, replicas, ct).ConfigureAwait(false);
        return await CreatePlannedCollectionAsync(spec, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The spec <see cref="CreateCollectionAsync"/> would write, checked (settings, shard count, enough live nodes able
    /// to serve it, the name free) but not written: LoadSnapshot stores the shards' snapshots under its
    /// <see cref="ClusterCollectionSpec.CreatedUnixMs"/> first, then writes it with <see cref="CreatePlannedCollectionAsync"/>.
    /// </summary>
    public async Task<ClusterCollectionSpec> PlanCollectionAsync(string name, HnswOptions options, int shards, int replicas,
        CancellationToken ct)
    {
        ClusterStateStore store = RequireSynced();
        if (shards > MaxShards)
            throw Invalid($"shards must be at most {MaxShards}, got {shards}");
        options.Validate();

        List<NodeEntry> live = View.LiveReplicaNodes();
        if (live.Count == 0)
            throw FailedPrecondition("no live node can hold replicas (every node is a router, or none has registered yet)");
        string? needed = NodeCapabilities.NeededFor(options.Quantization);
        List<NodeEntry> nodes = needed is null ? live : live.Where(n => n.Announces(needed)).ToList();
        int perShard = replicas == 0 ? Math.Min(2, nodes.Count) : replicas;
        if (perShard > nodes.Count || nodes.Count == 0)
            throw FailedPrecondition(TooFewNodes(Math.Max(perShard, 1), live, nodes, needed));
        if (View.Spec(name) is not null || await store.GetSpecAsync(name, ct).ConfigureAwait(false) is not null)
            throw new CollectionAlreadyExistsException(name, " (a cluster collection)");

        var map = new List<IReadOnlyList<string>>(shards);
        for (int shard = 0; shard < shards; shard++)
        {
            var assigned = new List<string>(perShard);
            for (int r = 0; r < perShard; r++)
                assigned.Add(nodes[(shard * perShard + r) % nodes.Count].NodeId);
            map.Add(assigned);
        }
        return new ClusterCollectionSpec(name, options.Dimension, options.Metric, options.M, options.EfConstruction,
            options.Quantization, shards, perShard, _options.StreamReplicas, map,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), LinkedFields: options.LinkedFields.Count == 0 ? null : [.. options.LinkedFields]);
    }

    /// <summary>Writes a spec of <see cref="PlanCollectionAsync"/>: the streams, then the spec (ALREADY_EXISTS when
    /// another admin took the name meanwhile), then waits as <see cref="CreateCollectionAsync"/> says.</summary>
    public async Task<ClusterCollectionSpec> CreatePlannedCollectionAsync(ClusterCollectionSpec spec, CancellationToken ct)
    {
        ClusterStateStore store = RequireSynced();
        string name = spec.Name;
        await ShardStreams.CreateAsync(JetStream, spec, ct).ConfigureAwait(false);
        if (!await store.TryCreateSpecAsync(spec, ct).ConfigureAwait(false))
            throw new CollectionAlreadyExistsException(name, " (a cluster collection)");
        _logger.LogInformation("Created cluster collection {Name}: {Shards} shard(s) x {Replicas} replica(s), streams replicated {StreamReplicas}x{Seeded}",
            name, spec.Shards, spec.ReplicasPerShard, spec.StreamReplicas, spec.SeededFromSnapshot ? ", seeded from imported shard snapshots" : "");

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        wait.CancelAfter(TimeSpan.FromSeconds(15));
        bool ready = await _watcher!.WaitForAsync(view =>
            view.Spec(name) is { } seen && Enumerable.Range(0, seen.Shards).All(s => view.ServingReplicas(seen, s).Count > 0), wait.Token)
            .ConfigureAwait(false);
        if (!ready)
            _logger.LogWarning("Cluster collection {Name} created, but not every shard had a serving replica within 15 s", name);
        return spec;
    }

    /// <summary>Deletes the spec (nodes drop their replicas when they see it go), the replica states, and the streams.
    /// False when there is no cluster collection of that name.</summary>
    public async Task<bool> DropCollectionAsync(string name, CancellationToken ct)
    {
        ClusterStateStore store = RequireSynced();
        var replicaKeys = View.Replicas.Keys.Where(k => k.Collection == name).ToList();
        if (await store.DeleteSpecAsync(name, replicaKeys, ct).ConfigureAwait(false) is not { } deleted)
            return false;
        await ShardStreams.DeleteAsync(JetStream, deleted, ct).ConfigureAwait(false);
        try
        {
            await store.ClusterBucket.DeleteAsync(ClusterKeys.PayloadFields(name), cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Harmless when left: the entry names the dropped collection's creation time, and a new one ignores it.
            _logger.LogWarning("Dropped cluster collection {Name}, but not its payload field kinds: {Message}", name, e.Message);
        }
        _logger.LogInformation("Dropped cluster collection {Name}", name);
        return true;
    }

    /// <summary>Adds <paramref name="nodeId"/> to the replicas of a shard (compare-and-set on the spec). Refused
    /// (<see cref="ReplicaAssignmentProblem.NodeLacksCapability"/>) when the node does not announce what the collection
    /// needs: it would never start the replica.</summary>
    public async Task<ClusterCollectionSpec> AssignReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct)
    {
        ClusterStateStore store = RequireSynced();
        ClusterView view = View;
        if (!view.Nodes.TryGetValue(nodeId, out NodeEntry? node) || !view.IsLive(node))
            throw FailedPrecondition($"node '{nodeId}' is not a live node of the cluster (GetClusterState lists them)");
        if (!ClusterRoles.HoldsReplicas(node.Role))
            throw FailedPrecondition($"node '{nodeId}' has role {node.Role}: it holds no replicas");
        return await ChangeReplicasAsync(store, collection, shard, ct, (spec, assigned) =>
        {
            // Checked on the spec as stored, not as this node's view last saw it.
            if (NodeCapabilities.NeededFor(spec.Quantization) is { } needed && !node.Announces(needed))
                throw new ReplicaAssignmentException(ReplicaAssignmentProblem.NodeLacksCapability,
                    $"cannot assign collection '{collection}' shard {shard} to node '{nodeId}': collection '{collection}' is " +
                    $"{NodeCapabilities.Describe(needed)} and {LacksMessage(node, needed)}");
            if (assigned.Contains(nodeId))
                throw new ReplicaAssignmentException(ReplicaAssignmentProblem.AlreadyAssigned, $"node '{nodeId}' holds a replica of collection '{collection}' shard {shard} already");
            return [.. assigned, nodeId];
        }).ConfigureAwait(false);
    }

    /// <summary>Removes <paramref name="nodeId"/> from the replicas of a shard; the node drops its copy when it sees it.</summary>
    public async Task<ClusterCollectionSpec> RemoveReplicaAsync(string collection, int shard, string nodeId, CancellationToken ct)
    {
        ClusterStateStore store = RequireSynced();
        return await ChangeReplicasAsync(store, collection, shard, ct, (_, assigned) =>
        {
            if (!assigned.Contains(nodeId))
                throw new ReplicaAssignmentException(ReplicaAssignmentProblem.NotAssigned, $"node '{nodeId}' holds no replica of collection '{collection}' shard {shard}");
            return assigned.Where(n => n != nodeId).ToList();
        }).ConfigureAwait(false);
    }

    private static async Task<ClusterCollectionSpec> ChangeReplicasAsync(ClusterStateStore store, string collection, int shard,
        CancellationToken ct, Func<ClusterCollectionSpec, IReadOnlyList<string>, IReadOnlyList<string>> change)
    {
        ClusterCollectionSpec? changed = await store.UpdateSpecAsync(collection, spec =>
        {
            if (shard >= spec.Shards)
                throw Invalid($"shard {shard} does not exist: collection '{collection}' has shards 0 to {spec.Shards - 1}");
            var map = spec.ShardReplicaNodeIds.ToList();
            map[shard] = change(spec, map[shard]);
            return spec with { ShardReplicaNodeIds = map };
        }, ct).ConfigureAwait(false);
        return changed ?? throw new CollectionNotFoundException(collection);
    }

    /// <summary>The create's failure when fewer live nodes than <paramref name="perShard"/> can hold its replicas: those that
    /// can, and why each other live node that holds replicas cannot.</summary>
    private static string TooFewNodes(int perShard, List<NodeEntry> live, List<NodeEntry> eligible, string? needed)
    {
        string serving = needed is null ? "" : $" and serve {NodeCapabilities.Describe(needed)} collections";
        string message = $"replicas {perShard} needs {perShard} live nodes that hold replicas{serving}, the cluster has " +
            (eligible.Count == 0 ? "none" : $"{eligible.Count} ({string.Join(", ", eligible.Select(n => n.NodeId))})");
        if (needed is null || eligible.Count == live.Count)
            return message;
        return message + "; left out: " + string.Join("; ", live.Where(n => !n.Announces(needed)).Select(n => LacksMessage(n, needed)));
    }

    /// <summary>Why <paramref name="node"/> gets no replica needing <paramref name="capability"/>, for the admin who asked.</summary>
    private static string LacksMessage(NodeEntry node, string capability) =>
        $"node '{node.NodeId}' announces no {NodeCapabilities.Describe(capability)} support " +
        $"({(node.Version is null ? "a version before capabilities" : "version " + node.Version)}, no '{capability}'): upgrade it";

    /// <summary>The store, once the state has been read; UNAVAILABLE before (the node is still connecting to NATS).</summary>
    private ClusterStateStore RequireSynced() => IsSynced && _store is { } store
        ? store
        : throw new CollectionUnavailableException(
            $"this node has not loaded the cluster state yet (NATS {_options.ClusterNats}); retry shortly");

    private static ArgumentException Invalid(string message) => new(message);

    private static CollectionPreconditionException FailedPrecondition(string message) => new(message);

    public async ValueTask DisposeAsync()
    {
        if (_watcher is not null)
            await _watcher.DisposeAsync().ConfigureAwait(false);
        if (IdSets is not null)
            await IdSets.DisposeAsync().ConfigureAwait(false);
        Channels.Dispose();
    }
}
