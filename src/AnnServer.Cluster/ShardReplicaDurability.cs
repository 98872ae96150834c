using AnnServer.Collections;
using AnnServer.Storage;

namespace AnnServer.Cluster;

/// <summary>
/// How a replica's local collection keeps its log. Relaxed commits: the shard's stream, not the local log, is what
/// makes a write durable (JetStream acknowledged it on a quorum before the client got an answer). A replica that
/// crashes loses at most the last few milliseconds of its local log, finds the sequence of the last record that did
/// reach its disk, and asks the stream for the rest. The page size is fixed (not the server's setting) because the
/// writer sizes stream records to fit it (<see cref="ShardWriter.MaxRecordBytes"/>).
/// </summary>
internal static class ShardReplicaDurability
{
    public const int LogPageSizeBits = 22;

    public static DurabilityOptions From(DurabilityOptions server) => new()
    {
        Durability = LogDurability.Relaxed,
        RelaxedCommitInterval = server.RelaxedCommitInterval,
        CheckpointLogBytes = server.CheckpointLogBytes,
        CheckpointRecords = server.CheckpointRecords,
        CompactDeletedFraction = server.CompactDeletedFraction,
        SnapshotLoading = server.SnapshotLoading,
        LogPageSizeBits = LogPageSizeBits,
    };
}
