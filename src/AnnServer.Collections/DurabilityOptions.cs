using AnnServer.Core.Snapshots;
using AnnServer.Storage;

namespace AnnServer.Collections;

/// <summary>
/// How the collections' writes are made durable, when they are checkpointed and how a checkpoint is loaded back: the
/// server settings <c>--durability</c>, <c>--relaxed-commit-ms</c>, <c>--checkpoint-log-bytes</c>,
/// <c>--checkpoint-records</c>, <c>--compact-deleted-fraction</c>, <c>--compaction-threads</c>, <c>--map-snapshots</c> and
/// <c>--accept-log-loss</c>
/// (docs/api.md, "Durability").
/// </summary>
public sealed class DurabilityOptions
{
    /// <summary>Strict (default): a write is acknowledged once the log commit covering it is on disk. Relaxed: once it
    /// is in the log's memory; a timer commits every <see cref="RelaxedCommitInterval"/>.</summary>
    public LogDurability Durability { get; init; } = LogDurability.Strict;

    /// <summary>Commit period in Relaxed mode: about what a crash can lose.</summary>
    public TimeSpan RelaxedCommitInterval { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Checkpoint a collection automatically once its log holds this many bytes beyond its snapshot; 0 = never
    /// by size. 256 MiB is about 500,000 points of dimension 128, a replay of under a minute on two cores.</summary>
    public long CheckpointLogBytes { get; init; } = 256L << 20;

    /// <summary>Checkpoint a collection automatically once this many log records (write requests) are beyond its
    /// snapshot; 0 = never by count. Bounds the replay of many small writes.</summary>
    public long CheckpointRecords { get; init; } = 100_000;

    /// <summary>
    /// A checkpoint first rebuilds the index from its live points when at least this fraction of its nodes are tombstones
    /// (deleted points, and the old nodes of replaced ones, which keep their memory and slow searches); 0 = never.
    /// A feed that re-embeds every item once a day doubles the node count each day without it.
    /// </summary>
    public double CompactDeletedFraction { get; init; } = 0.3;

    /// <summary>
    /// Threads of a compaction's copy, its own (not the thread pool's); by default half the cores, at least 1, so that
    /// searches keep the other half. More finish the copy sooner, and take those cores from searches meanwhile.
    /// </summary>
    public int CompactionThreads { get; init; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>
    /// How a collection's snapshot is loaded at start and when a replica takes over one: read into memory by default.
    /// Memory the index owns gets 2 MiB huge pages, a file mapping keeps 4 KiB pages: on Fashion-MNIST a mapped index
    /// searched 6 % (ef 14) to 20 % (ef 32) slower than the same index read into memory. Every checksum is read either way.
    /// </summary>
    public SnapshotLoadOptions SnapshotLoading { get; init; } = new() { ReadIntoMemory = true };

    /// <summary>
    /// What a start does with damage below the committed end of a collection's log (a record that fails its checks, a
    /// missing or short segment file): false (default) quarantines the collection (<see cref="CollectionState.Failed"/>,
    /// its files untouched); true (<c>--accept-log-loss</c>) drops the damaged range and every record after it, records
    /// the range so that later starts step over it, logs the loss as an error and serves the collection. A torn tail
    /// (an append whose commit never completed) is beyond the committed end and is never damage.
    /// </summary>
    public bool AcceptLogLoss { get; init; }

    /// <summary>
    /// A restart whose log tail holds at least this many points beyond the snapshot serves the collection as soon as the
    /// tail is read (at disk speed), and inserts the tail into the graph in the background (at graph-insert speed, about
    /// 2,500 points/s on two cores at dimension 128 with the default M and ef_construction): until it ends, searches scan
    /// the points not inserted yet exactly, and writes and checkpoints are refused with UNAVAILABLE. A smaller tail is
    /// replayed before the collection serves. 0 = always before. Cluster replicas always replay before they serve.
    /// </summary>
    public int BackgroundReplayPoints { get; init; } = 10_000;

    /// <summary>log2 of the log's page size. One log record must fit in a page, so an Upsert larger than a page
    /// (4 MiB: about 8,000 points of dimension 128) is written as several records. Tests lower it.</summary>
    public int LogPageSizeBits { get; init; } = 22;

    /// <summary>Tests: called with each record's index in the tail before a replay in the background applies it (it may
    /// block, to hold the replay half way).</summary>
    internal Action<int>? BeforeBackgroundReplayRecord { get; init; }

    /// <summary>Tests: wraps the device each collection's log writes to (<see cref="CollectionLogOptions.WrapDevice"/>).</summary>
    internal Func<FASTER.core.IDevice, FASTER.core.IDevice>? WrapLogDevice { get; init; }

    internal CollectionLogOptions LogOptions() => new()
    {
        Durability = Durability,
        RelaxedCommitInterval = RelaxedCommitInterval,
        PageSizeBits = LogPageSizeBits,
        MemorySizeBits = Math.Max(24, LogPageSizeBits + 1),
        SegmentSizeBits = Math.Max(26, LogPageSizeBits),
        AcceptLogLoss = AcceptLogLoss,
        WrapDevice = WrapLogDevice,
    };
}
