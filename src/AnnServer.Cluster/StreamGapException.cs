namespace AnnServer.Cluster;

/// <summary>
/// A replica needs stream sequence <see cref="NextNeeded"/>, but the stream's first message is
/// <see cref="FirstAvailable"/>, later: the messages in between were trimmed (or purged by hand). Applying the stream
/// from <see cref="FirstAvailable"/> would silently lose them, so the replica re-seeds from the shard's snapshot instead
/// (<see cref="ShardReplicaRunner"/>), or waits for one that covers the gap.
/// </summary>
internal sealed class StreamGapException(string collection, int shard, ulong nextNeeded, ulong firstAvailable)
    : Exception($"the replica of collection '{collection}' shard {shard} needs stream sequence {nextNeeded}, " +
                $"but the stream starts at {firstAvailable}: sequences {nextNeeded} to {firstAvailable - 1} were trimmed")
{
    public ulong NextNeeded { get; } = nextNeeded;
    public ulong FirstAvailable { get; } = firstAvailable;
}
