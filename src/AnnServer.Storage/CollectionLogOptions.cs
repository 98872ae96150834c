namespace AnnServer.Storage;

/// <summary>Settings of one <see cref="CollectionLog"/>. Call <see cref="Validate"/> (Open does).</summary>
public sealed class CollectionLogOptions
{
    /// <summary>When an append is acknowledged; see <see cref="LogDurability"/>.</summary>
    public LogDurability Durability { get; set; } = LogDurability.Strict;

    /// <summary>Commit period in <see cref="LogDurability.Relaxed"/> mode (ignored in Strict mode).</summary>
    public TimeSpan RelaxedCommitInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// log2 of the FASTER page size. A record must fit in one page (with FASTER's 4-byte header),
    /// so this bounds the largest batch: 22 = 4 MiB = about 8,000 vectors of dimension 128.
    /// </summary>
    public int PageSizeBits { get; set; } = 22;

    /// <summary>log2 of the memory FASTER keeps for the tail of the log; at least two pages.</summary>
    public int MemorySizeBits { get; set; } = 24;

    /// <summary>
    /// log2 of the size of one log file on disk. Truncation frees disk space a whole file at a
    /// time, so smaller files return space sooner after a checkpoint. 26 = 64 MiB.
    /// </summary>
    public int SegmentSizeBits { get; set; } = 26;

    /// <summary>
    /// What <see cref="CollectionLog.Replay"/> does with damage below the committed end (a record that fails its checks,
    /// a missing or short segment file): false (default) reports it in <see cref="ReplayResult.DroppedTail"/> and
    /// changes nothing on disk, so that the caller can refuse to serve the log and an operator finds the files as they
    /// were; true also records the dropped range in the folder (<c>damaged-ranges</c>), so that this and later replays
    /// step over it and go on with the records appended after it: the loss is accepted for good.
    /// </summary>
    public bool AcceptLogLoss { get; set; }

    /// <summary>
    /// For fault-injection tests: wraps the FASTER device the log's pages are written to, so that a test can make writes
    /// fail as a full or broken disk would. Null (the default): the device is used as it is.
    /// </summary>
    public Func<FASTER.core.IDevice, FASTER.core.IDevice>? WrapDevice { get; set; }

    /// <summary>Largest record the log accepts with these settings, in bytes (one page less FASTER's header).</summary>
    public int MaxRecordBytes => (1 << PageSizeBits) - FasterEntryHeaderSize;

    /// <summary>FASTER's per-entry header without its optional checksum: a 4-byte length.</summary>
    internal const int FasterEntryHeaderSize = 4;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Durability))
            throw new ArgumentException($"durability {(int)Durability} is not Strict or Relaxed", nameof(Durability));
        if (RelaxedCommitInterval < TimeSpan.FromMilliseconds(1) || RelaxedCommitInterval > TimeSpan.FromSeconds(10))
            throw new ArgumentException($"relaxed commit interval must be between 1 ms and 10 s, got {RelaxedCommitInterval.TotalMilliseconds} ms", nameof(RelaxedCommitInterval));
        if (PageSizeBits is < 12 or > 30)
            throw new ArgumentException($"page size bits must be between 12 (4 KiB) and 30 (1 GiB), got {PageSizeBits}", nameof(PageSizeBits));
        if (MemorySizeBits < PageSizeBits + 1 || MemorySizeBits > 34)
            throw new ArgumentException($"memory size bits must be at least page size bits + 1 ({PageSizeBits + 1}) and at most 34, got {MemorySizeBits}", nameof(MemorySizeBits));
        if (SegmentSizeBits < PageSizeBits || SegmentSizeBits > 40)
            throw new ArgumentException($"segment size bits must be at least page size bits ({PageSizeBits}) and at most 40, got {SegmentSizeBits}", nameof(SegmentSizeBits));
    }
}
