namespace AnnServer.Collections;

/// <summary>
/// The hook through which a collection that follows a stream (a cluster replica's, docs/cluster.md) reports the
/// stream sequences of its records. Such a collection takes its writes as log records, each with its sequence in the
/// stream (<see cref="Collection.EnqueueStreamRecordAsync"/>); the log keeps the sequence in the record, and the
/// collection tells the observer, at fixed points of its write path, checkpoints and recovery, what has become of it.
/// What the sequences mean (where the stream resumes, how far it may be trimmed, what a reader waits for) is the
/// observer's business; the collection only keeps the one it must pair with a snapshot's log position.
/// <para>
/// The calls come in this order: <see cref="SnapshotSequence"/> and <see cref="Opened"/> once, at open; then, per stream
/// record, <see cref="Enqueued"/> and <see cref="Applied"/> (records are applied in log order, one at a time); per
/// checkpoint, <see cref="SnapshotWriting"/>, <see cref="SnapshotReplaced"/> and <see cref="Checkpointed"/>, on the
/// checkpoint's thread under the checkpoint lock. None may block: the write path waits for them. Commits are not
/// reported: the log commits in the background, and an observer that needs the committed position reads
/// <see cref="Collection.CommittedLogPosition"/>.
/// </para>
/// </summary>
public interface IStreamSequenceObserver
{
    /// <summary>At open, before the log is opened: the stream sequence covered by the snapshot in
    /// <paramref name="folder"/>, which covers log position <paramref name="snapshotLogPosition"/> (0: none).</summary>
    /// <exception cref="InvalidDataException">what the observer keeps beside the snapshot is damaged or does not belong
    /// to it; the collection is not opened.</exception>
    ulong SnapshotSequence(string folder, long snapshotLogPosition);

    /// <summary>At open, once the log has been replayed and before any write: the collection has applied, and holds on
    /// disk, everything up to <paramref name="appliedSequence"/> (the snapshot's, or the last replayed record's).</summary>
    void Opened(Collection collection, ulong appliedSequence);

    /// <summary>The record with <paramref name="sequence"/> has its place in the log, ending at
    /// <paramref name="endPosition"/>; it is durable once the committed position reaches that.</summary>
    void Enqueued(long endPosition, ulong sequence);

    /// <summary>The record with <paramref name="sequence"/> has been applied to the index (searches see it); called
    /// before its writer is answered.</summary>
    void Applied(ulong sequence);

    /// <summary>A checkpoint's snapshot of <paramref name="folder"/>, covering log position
    /// <paramref name="logPosition"/> and stream sequence <paramref name="sequence"/>, is written and verified, and is
    /// about to be renamed over the previous one: whatever the observer keeps beside the snapshot must be such that,
    /// whichever moment a crash hits between here and <see cref="SnapshotReplaced"/>, it still finds the sequence of
    /// the snapshot in place (<see cref="SnapshotSequence"/>).</summary>
    void SnapshotWriting(string folder, long logPosition, ulong sequence);

    /// <summary>The new snapshot of <paramref name="folder"/> has been renamed into place (the folder is flushed after).</summary>
    void SnapshotReplaced(string folder);

    /// <summary>The checkpoint is done: the snapshot at <paramref name="snapshotPath"/> covers
    /// <paramref name="logPosition"/> and <paramref name="sequence"/>, and the log before it is truncated. Called before
    /// the checkpoint returns; long work (an upload) is started, not waited for, and its exceptions are the observer's.</summary>
    void Checkpointed(string snapshotPath, long logPosition, ulong sequence);
}
