using AnnServer.Cluster.State;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// How far a shard's stream may be trimmed: every message up to and including the sequence returned may go, because
/// nobody will ask for it again. Two kinds of reader remain:
/// <list type="bullet">
/// <item>a new replica (or one that lost its disk) starts from the shard's snapshot in <see cref="ShardSnapshotStore"/>
/// and reads the stream after the sequence it covers;</item>
/// <item>each replica assigned to the shard resumes, after a restart, after the last sequence on its own disk (its
/// <see cref="ReplicaEntry.DurableSequence"/>; not its applied sequence, which relaxed local commits may put ahead of
/// the disk).</item>
/// </list>
/// So the point is the least of these. No snapshot, or an assigned replica that has not reported a durable sequence
/// (new, on an older node, or of an earlier collection of that name): nothing may be trimmed.
/// </summary>
public static class StreamTrimPoint
{
    /// <summary>The last sequence that may be trimmed, or null when nothing may.</summary>
    /// <param name="snapshotSequence">what the shard's stored snapshot covers; null when there is none.</param>
    /// <param name="replicaDurableSequences">one entry per replica assigned to the shard: its reported durable
    /// sequence, null when it has not reported one.</param>
    public static ulong? Compute(ulong? snapshotSequence, IEnumerable<ulong?> replicaDurableSequences)
    {
        if (snapshotSequence is not { } point || point == 0) return null;
        foreach (ulong? durable in replicaDurableSequences)
        {
            if (durable is not { } reached || reached == 0) return null;
            point = Math.Min(point, reached);
        }
        return point;
    }

    /// <summary>The durable sequence each replica assigned to the shard last reported in <paramref name="view"/> (null
    /// for one that has not, or whose entry predates the collection). An entry older than its node's current process
    /// still counts: what was on its disk then is on it now.</summary>
    public static List<ulong?> ReportedDurableSequences(ClusterView view, ClusterCollectionSpec spec, int shard)
    {
        var sequences = new List<ulong?>(spec.ShardReplicaNodeIds[shard].Count);
        foreach (string nodeId in spec.ShardReplicaNodeIds[shard])
        {
            sequences.Add(view.Replicas.TryGetValue(new ReplicaKey(spec.Name, shard, nodeId), out ReplicaEntry? entry)
                          && entry.UpdatedUnixMs >= spec.CreatedUnixMs && entry.DurableSequence > 0
                ? entry.DurableSequence
                : null);
        }
        return sequences;
    }
}
