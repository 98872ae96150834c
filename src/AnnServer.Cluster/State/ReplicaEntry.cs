namespace AnnServer.Cluster.State;

/// <summary>
/// One replica's progress as its node reports it in the <c>ann-cluster</c> bucket, key
/// <c>replicas.{collection}.{shard}.{nodeId}</c> (JSON), refreshed with every heartbeat.
/// </summary>
/// <param name="State"><see cref="ReplicaStates.CatchingUp"/> or <see cref="ReplicaStates.Serving"/>.</param>
/// <param name="AppliedSequence">The last stream sequence the replica has applied.</param>
/// <param name="Count">Live points in the replica when it reported (0 while catching up): GetCollectionInfo sums one
/// replica per shard. Absent in entries of older nodes, read as 0.</param>
/// <param name="DurableSequence">The last stream sequence on the replica's disk (its snapshot or its committed local
/// log): after a restart it resumes the stream at the next one, or later. The shard's stream is trimmed up to the least
/// of these (<see cref="Replication.StreamTrimPoint"/>). Absent in entries of older nodes, read as 0: nothing is trimmed
/// while such a node holds a replica of the shard.</param>
public sealed record ReplicaEntry(string State, ulong AppliedSequence, long UpdatedUnixMs, long Count = 0, ulong DurableSequence = 0);

/// <summary>The replica states of the cluster state's format.</summary>
public static class ReplicaStates
{
    /// <summary>Loading its snapshot or replaying the stream: not searched.</summary>
    public const string CatchingUp = "catching-up";

    /// <summary>Has applied the stream up to what it saw at start: searched.</summary>
    public const string Serving = "serving";
}
