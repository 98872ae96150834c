namespace AnnServer.Collections;

/// <summary>
/// How far along the log the index has been brought: the position just past the last record applied, counts of
/// records and requests applied since the collection was loaded (replayed ones included), and the stream sequence of
/// the last applied record that carried one (a cluster replica's; 0: none). Written by the one applier
/// (<see cref="WritePipeline"/>) and by recovery; read by checkpoints (the position and sequence a snapshot covers),
/// compaction and Status.
/// Lock: <see cref="_lock"/>, over the four values, so that a reader sees them from one moment: a checkpoint pairs the
/// position with the stream sequence of exactly the records before it.
/// </summary>
internal sealed class AppliedProgress(long snapshotLogPosition, ulong snapshotStreamSequence)
{
    private readonly Lock _lock = new();
    private long _position = snapshotLogPosition;
    private long _records;
    private long _writes;
    private ulong _streamSequence = snapshotStreamSequence;

    public AppliedState Read()
    {
        lock (_lock)
            return new AppliedState(_position, _records, _writes, _streamSequence);
    }

    /// <summary>Records that <paramref name="write"/> is applied: its log position becomes the one a checkpoint covers.</summary>
    public void Advance(PendingWrite write)
    {
        lock (_lock)
        {
            _position = write.EndPosition;
            _records += write.RecordCount;
            _writes++;
            _streamSequence = Math.Max(_streamSequence, write.StreamSequence);
        }
    }

    /// <summary>Replay has applied <paramref name="records"/> records up to <paramref name="endPosition"/>, the last with a
    /// stream sequence carrying <paramref name="lastStreamSequence"/> (0: none).</summary>
    public void Recovered(long endPosition, long records, ulong lastStreamSequence)
    {
        lock (_lock)
        {
            _position = endPosition;
            _records = records;
            _writes = records;
            _streamSequence = Math.Max(_streamSequence, lastStreamSequence);
        }
    }
}

/// <summary>One reading of <see cref="AppliedProgress"/>.</summary>
internal readonly record struct AppliedState(long Position, long Records, long Writes, ulong StreamSequence);
