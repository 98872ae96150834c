using AnnServer.Core.Snapshots;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// How the collections keep their data: when a write is durable, when a collection is checkpointed and compacted, and
/// how its snapshot is loaded back (docs/api.md, "Durability" and "Compaction"). The collections take these as one
/// <see cref="DurabilityOptions"/> (<see cref="ToDurabilityOptions"/>). Each property is one setting, named like it:
/// <see cref="RelaxedCommitMs"/> is <c>--relaxed-commit-ms</c>, <c>ANNSERVER_RELAXED_COMMIT_MS</c> and
/// <c>"AnnServer": { "RelaxedCommitMs" }</c> (the server binds it, beside its own settings, with
/// Microsoft.Extensions.Options, as it does the cluster's ClusterOptions). Checked by <see cref="PersistenceOptionsValidator"/>.
/// </summary>
public sealed class PersistenceOptions
{
    /// <summary>When a write is acknowledged: <c>strict</c> (after the log commit covering it is on disk) or <c>relaxed</c>
    /// (once it is in the log's memory; a crash loses about the last <see cref="RelaxedCommitMs"/> of writes).</summary>
    public LogDurability Durability { get; set; } = LogDurability.Strict;

    /// <summary>Log commit period in relaxed durability, in milliseconds.</summary>
    public int RelaxedCommitMs { get; set; } = 10;

    /// <summary>Automatic checkpoint of a collection once its log holds this many bytes beyond its snapshot (0: never by size).</summary>
    public long CheckpointLogBytes { get; set; } = new DurabilityOptions().CheckpointLogBytes;

    /// <summary>Automatic checkpoint of a collection once this many log records are beyond its snapshot (0: never by count).</summary>
    public long CheckpointRecords { get; set; } = new DurabilityOptions().CheckpointRecords;

    /// <summary>A checkpoint first rebuilds a collection's index without its tombstones once they are this fraction of its nodes (0: never).</summary>
    public double CompactDeletedFraction { get; set; } = new DurabilityOptions().CompactDeletedFraction;

    /// <summary>Threads that copy a collection's live points during a compaction: 1 to the number of cores; default half the cores, at least 1.</summary>
    public int CompactionThreads { get; set; } = new DurabilityOptions().CompactionThreads;

    /// <summary>Serve snapshots' vectors from a read-only file mapping instead of reading them into memory: a faster
    /// start and pages shared with the OS cache, but 4 KiB pages, so slower searches (see <see cref="DurabilityOptions.SnapshotLoading"/>).</summary>
    public bool MapSnapshots { get; set; }

    /// <summary>Load a collection whose write-ahead log is damaged below its committed end by dropping the damaged range and
    /// every record after it, for good (logged as an error, counted in annserver_log_loss_accepted_total), instead of
    /// leaving the collection FAILED with its files untouched (see <see cref="DurabilityOptions.AcceptLogLoss"/>).</summary>
    public bool AcceptLogLoss { get; set; }

    /// <summary>A restart whose log tail holds at least this many points serves while it replays them (see
    /// <see cref="DurabilityOptions.BackgroundReplayPoints"/>); 0: always replay before serving.</summary>
    public int BackgroundReplayPoints { get; set; } = new DurabilityOptions().BackgroundReplayPoints;

    /// <summary>These settings as the collections take them.</summary>
    public DurabilityOptions ToDurabilityOptions() => new()
    {
        Durability = Durability,
        RelaxedCommitInterval = TimeSpan.FromMilliseconds(RelaxedCommitMs),
        CheckpointLogBytes = CheckpointLogBytes,
        CheckpointRecords = CheckpointRecords,
        CompactDeletedFraction = CompactDeletedFraction,
        CompactionThreads = CompactionThreads,
        SnapshotLoading = new SnapshotLoadOptions { ReadIntoMemory = !MapSnapshots },
        AcceptLogLoss = AcceptLogLoss,
        BackgroundReplayPoints = BackgroundReplayPoints,
    };
}
