namespace AnnServer.Collections;

/// <summary>
/// What a read waits for and what it may leave out. A collection on one node applies every acknowledged write before it
/// acknowledges it, so it reads its own writes without these; a cluster collection's replicas apply their shard's
/// stream after the write is acknowledged, so a read that must see a write passes the write's
/// <see cref="ShardPosition"/>s back as <see cref="MinSequences"/>.
/// </summary>
/// <param name="MinSequences">Per shard, the stream sequence its replica must have applied before it answers; null or
/// empty: none.</param>
/// <param name="AllowPartial">A search may answer without the shards none of whose replicas answered, listing them.</param>
/// <param name="Deadline">The caller's deadline, passed on to every shard; null: none.</param>
public sealed record ReadOptions(IReadOnlyList<ShardPosition>? MinSequences = null, bool AllowPartial = false, DateTime? Deadline = null)
{
    /// <summary>No sequences to wait for, nothing partial, no deadline.</summary>
    public static ReadOptions Default { get; } = new();
}
