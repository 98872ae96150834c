using AnnServer.Collections;
using AnnServer.Core;

namespace AnnServer.Cluster.State;

/// <summary>A cluster collection described as a collection: its settings, shards and replicas, and its live points:
/// per shard, the count of the serving replica that has applied the most, as of the replicas' last heartbeat (0 for a
/// shard with none; 0 without a view, as right after the create). The fields that describe one node's files stay 0.</summary>
public static class ClusterCollectionStatus
{
    public static CollectionStatus Of(ClusterView? view, ClusterCollectionSpec spec)
    {
        long count = 0;
        if (view is not null)
            for (int shard = 0; shard < spec.Shards; shard++)
                count += ShardCount(view, spec, shard);
        return new CollectionStatus(spec.Name, spec.Dimension, spec.Metric, spec.M, spec.EfConstruction, count, NodeCount: 0,
            MemoryBytes: 0, SnapshotLogPosition: 0, LogPosition: 0, SnapshotBytes: 0, SnapshotTime: DateTimeOffset.UnixEpoch,
            WritesSinceSnapshot: 0, spec.Quantization, spec.Shards,
            spec.ReplicasPerShard, LinkedFields: spec.LinkedFields);
    }

    private static long ShardCount(ClusterView view, ClusterCollectionSpec spec, int shard)
    {
        ReplicaEntry? best = null;
        foreach (string nodeId in spec.ShardReplicaNodeIds[shard])
        {
            if (view.ReplicaState(spec.Name, shard, nodeId) is { State: ReplicaStates.Serving } entry
                && (best is null || entry.AppliedSequence > best.AppliedSequence))
                best = entry;
        }
        return best?.Count ?? 0;
    }
}
