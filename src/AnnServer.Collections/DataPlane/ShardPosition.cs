namespace AnnServer.Collections;

/// <summary>A position in one shard's write stream: the sequence of a shard's last record that a write was
/// acknowledged with, and the sequence a read waits for (read-your-writes).</summary>
public readonly record struct ShardPosition(int Shard, ulong Sequence);
