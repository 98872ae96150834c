namespace AnnServer.Cluster;

/// <summary>
/// One local replica of a shard as this node sees it: <see cref="State"/> is <see cref="ShardReplicaStates.CatchingUp"/>
/// until the replica has applied every record the shard's stream held when it started following it, then
/// <see cref="ShardReplicaStates.Serving"/>; <see cref="AppliedSequence"/> is the stream sequence of the last record
/// applied to its index (0 = none); <see cref="DurableSequence"/> the last one on its disk (snapshot or committed log),
/// where a restart resumes at the earliest.
/// </summary>
public sealed record ShardReplicaStatus(string Collection, int Shard, string State, ulong AppliedSequence, ulong DurableSequence = 0);

/// <summary>The values of <see cref="ShardReplicaStatus.State"/>, as written to the cluster state bucket.</summary>
public static class ShardReplicaStates
{
    /// <summary>Loading its snapshot, replaying its local log, or applying the stream up to where it stood at start.</summary>
    public const string CatchingUp = "catching-up";

    /// <summary>Up to date with the stream (as of when it started following it); answers SearchShard and GetShard.</summary>
    public const string Serving = "serving";

    /// <summary>Its local data could not be loaded (the message is in the server log); retried with a growing pause
    /// until it works or the replica is removed.</summary>
    public const string Failed = "failed";
}
