namespace AnnServer.Cluster.Replication;

/// <summary>One record of a shard's stream as <see cref="ShardStreamReader"/> reads it: its sequence and its body (an
/// encoded log record, LogRecordCodec).</summary>
internal readonly record struct ShardStreamRecord(ulong Sequence, byte[] Data);
