namespace AnnServer.Cluster.State;

/// <summary>
/// The cluster state as this node last saw it: collection specs, nodes and replica states. Immutable; the
/// <see cref="ClusterWatcher"/> publishes a new view on every change, so a search reads one consistent view without a
/// lock. Liveness is judged when asked, from each node's last heartbeat time and the node TTL.
/// </summary>
public sealed class ClusterView(
    IReadOnlyDictionary<string, VersionedSpec> collections,
    IReadOnlyDictionary<string, NodeEntry> nodes,
    IReadOnlyDictionary<ReplicaKey, ReplicaEntry> replicas,
    TimeSpan nodeTtl,
    IReadOnlyDictionary<string, string>? aliases = null)
{
    public static ClusterView Empty(TimeSpan nodeTtl) =>
        new(new Dictionary<string, VersionedSpec>(), new Dictionary<string, NodeEntry>(), new Dictionary<ReplicaKey, ReplicaEntry>(), nodeTtl);

    public IReadOnlyDictionary<string, VersionedSpec> Collections { get; } = collections;
    public IReadOnlyDictionary<string, NodeEntry> Nodes { get; } = nodes;
    public IReadOnlyDictionary<ReplicaKey, ReplicaEntry> Replicas { get; } = replicas;
    public TimeSpan NodeTtl { get; } = nodeTtl;

    /// <summary>The cluster's aliases: alias → the cluster collection it names.</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; } = aliases ?? new Dictionary<string, string>();

    /// <summary>The collection <paramref name="alias"/> names, or null when it is not an alias.</summary>
    public string? AliasTarget(string alias) => Aliases.TryGetValue(alias, out string? target) ? target : null;

    public ClusterCollectionSpec? Spec(string collection) =>
        Collections.TryGetValue(collection, out VersionedSpec? versioned) ? versioned.Spec : null;

    /// <summary>A node is live while its last heartbeat is younger than the TTL (by the writer's clock: nodes need
    /// synchronised clocks, as NTP gives).</summary>
    public bool IsLive(string nodeId) => Nodes.TryGetValue(nodeId, out NodeEntry? node) && IsLive(node);

    public bool IsLive(NodeEntry node) =>
        DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - node.HeartbeatUnixMs < (long)NodeTtl.TotalMilliseconds;

    /// <summary>Live nodes that may hold replicas, sorted by id (the order replicas are assigned in).</summary>
    public List<NodeEntry> LiveReplicaNodes()
    {
        var live = Nodes.Values.Where(n => ClusterRoles.HoldsReplicas(n.Role) && IsLive(n)).ToList();
        live.Sort((a, b) => string.CompareOrdinal(a.NodeId, b.NodeId));
        return live;
    }

    /// <summary>The replica state of a shard on a node, or null when unknown or written before the node's current process
    /// started (a restarted node's old "serving" is not believed until it reports again).</summary>
    public ReplicaEntry? ReplicaState(string collection, int shard, string nodeId)
    {
        if (!Replicas.TryGetValue(new ReplicaKey(collection, shard, nodeId), out ReplicaEntry? entry))
            return null;
        if (Nodes.TryGetValue(nodeId, out NodeEntry? node) && entry.UpdatedUnixMs < node.StartedUnixMs)
            return null;
        return entry;
    }

    /// <summary>The nodes assigned to a shard that are live and report the replica serving, in assignment order.</summary>
    public List<NodeEntry> ServingReplicas(ClusterCollectionSpec spec, int shard) => ReportedServing(spec, shard, liveOnly: true);

    /// <summary>
    /// The nodes to ask for a shard: the live serving replicas; when there is none, those that last reported serving
    /// even though their heartbeat is late. Heartbeats stall for everyone while NATS elects a new leader (a NATS server
    /// died), and a router whose view is frozen should still try the replicas (a dead one refuses at once) rather than
    /// fail every search.
    /// </summary>
    public List<NodeEntry> ReplicasToAsk(ClusterCollectionSpec spec, int shard)
    {
        List<NodeEntry> live = ReportedServing(spec, shard, liveOnly: true);
        return live.Count > 0 ? live : ReportedServing(spec, shard, liveOnly: false);
    }

    private List<NodeEntry> ReportedServing(ClusterCollectionSpec spec, int shard, bool liveOnly)
    {
        var serving = new List<NodeEntry>(spec.ReplicasPerShard);
        foreach (string nodeId in spec.ShardReplicaNodeIds[shard])
        {
            if (Nodes.TryGetValue(nodeId, out NodeEntry? node) && (!liveOnly || IsLive(node))
                && ReplicaState(spec.Name, shard, nodeId) is { State: ReplicaStates.Serving } state
                // A state from before the collection was created belongs to a dropped collection of the same name.
                && state.UpdatedUnixMs >= spec.CreatedUnixMs)
                serving.Add(node);
        }
        return serving;
    }

    /// <summary>The (collection, shard) pairs assigned to <paramref name="nodeId"/>.</summary>
    public IEnumerable<(ClusterCollectionSpec Spec, int Shard)> AssignedTo(string nodeId)
    {
        foreach (VersionedSpec versioned in Collections.Values)
        {
            ClusterCollectionSpec spec = versioned.Spec;
            for (int shard = 0; shard < spec.Shards; shard++)
                if (spec.ShardReplicaNodeIds[shard].Contains(nodeId))
                    yield return (spec, shard);
        }
    }
}
