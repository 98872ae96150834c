using AnnServer.Cluster.State;

namespace AnnServer.Cluster;

/// <summary>
/// The cluster settings (docs/cluster.md, "Starting a node"): <c>--cluster-nats</c> turns cluster mode on, the others
/// say who this node is and how it keeps in touch with the others. Each property is one setting, named like it:
/// <see cref="NodeTtlMs"/> is <c>--node-ttl-ms</c>, <c>ANNSERVER_NODE_TTL_MS</c> and <c>"AnnServer": { "NodeTtlMs" }</c>.
/// Checked by <see cref="ClusterOptionsValidator"/>, in cluster mode only.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>NATS server URLs, comma-separated (<c>nats://h1:4222,nats://h2:4222</c>). Null: a single server, exactly
    /// as without cluster support.</summary>
    public string? ClusterNats { get; set; }

    /// <summary>True when <see cref="ClusterNats"/> is given.</summary>
    public bool ClusterMode => !string.IsNullOrWhiteSpace(ClusterNats);

    /// <summary>This node's id in the cluster state (letters, digits, '-' and '_'); default: the machine name.</summary>
    public string NodeId { get; set; } = ClusterNodeId.FromMachineName(Environment.MachineName);

    /// <summary>The gRPC address other nodes use to reach this one; null: http(s)://{host}:{port} with the bound port.</summary>
    public string? AdvertiseAddress { get; set; }

    /// <summary>What this node does in the cluster: hold replicas, route searches, or both.</summary>
    public ClusterRole ClusterRole { get; set; } = ClusterRole.All;

    /// <summary>JetStream replication factor of the shard streams and the cluster state buckets.</summary>
    public int StreamReplicas { get; set; } = 3;

    /// <summary>How often this node re-announces itself and its replicas' states, in milliseconds.</summary>
    public int HeartbeatMs { get; set; } = 1000;

    /// <summary>A node whose last heartbeat is older than this is dead (and its entry expires), in milliseconds.</summary>
    public int NodeTtlMs { get; set; } = 5000;

    /// <summary>Plaintext API key this node sends on node-to-node calls (needs role read at least) when nodes use keys.</summary>
    public string? ClusterApiKey { get; set; }

    /// <summary>Fixed delay before a hedged shard search goes to a second replica; 0: the shard's recent p95 latency.</summary>
    public int HedgeAfterMs { get; set; }

    /// <summary>How often a node trims the streams of the shards it holds replicas of up to what no replica can need any
    /// more, in milliseconds; 0: never.</summary>
    public int StreamTrimIntervalMs { get; set; } = 60_000;
}
