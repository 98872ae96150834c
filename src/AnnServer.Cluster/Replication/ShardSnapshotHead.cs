namespace AnnServer.Cluster.Replication;

/// <summary>
/// Which snapshot object is a shard's current one: the value of key <c>{collection}.{shard}</c> in the KV bucket
/// <see cref="ShardSnapshotStore.HeadsBucket"/> (JSON, <see cref="State.ClusterJson"/>). Uploads move it forward only,
/// with a compare-and-set on the key's revision.
/// </summary>
/// <param name="Object">The object's name in <see cref="ShardSnapshotStore.Bucket"/>.</param>
/// <param name="Sequence">The stream sequence the snapshot covers.</param>
/// <param name="Created">The collection's <c>CreatedUnixMs</c>: a head left by an earlier collection of the same name is
/// not used.</param>
public sealed record ShardSnapshotHead(string Object, ulong Sequence, long Created);
