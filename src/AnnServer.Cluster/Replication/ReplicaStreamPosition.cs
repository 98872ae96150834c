using AnnServer.Collections;
using AnnServer.Storage;

namespace AnnServer.Cluster.Replication;

// A cluster replica's collection (docs/cluster.md): its writes are not requests but the records of its shard's
// JetStream stream, each appended to the local log with its stream sequence and applied in stream order. The sequence
// of the last record applied is what the replica reports, what a search's min_sequence waits for, and where the stream
// is resumed after a restart: records after the snapshot carry theirs in the log, and the snapshot's own is kept in
// StreamSequenceFile, written by every checkpoint.

/// <summary>
/// Where a replica's collection stands in its shard's stream: the sequences it has enqueued, applied and holds on disk,
/// told by the collection through <see cref="IStreamSequenceObserver"/> (one instance per opened collection: pass a new
/// one to <see cref="Collection.Open"/>), and the stream-sequence file beside its snapshot.
/// Lock: <see cref="_lock"/>, over the applied sequence and its waiters, and over the records logged but not yet seen
/// committed; the enqueued sequence is written by the replica's one consumer only, with no lock.
/// </summary>
/// <param name="snapshotSaved">runs after each checkpoint with what it saved (the replica uploads the snapshot for new
/// replicas); started on the checkpoint's thread, not waited for. Exceptions are the callee's to handle.</param>
public sealed class ReplicaStreamPosition(Func<SavedSnapshot, Task>? snapshotSaved = null) : IStreamSequenceObserver
{
    private readonly Lock _lock = new();
    private Collection? _collection;
    private ulong _appliedSequence;
    private ulong _enqueuedSequence;
    private readonly List<(ulong Sequence, TaskCompletionSource Reached)> _sequenceWaiters = [];

    // Stream records appended to the log whose commit has not been seen yet, oldest first, and the sequence of the
    // last one seen committed. Relaxed durability applies a record before its commit, so the applied sequence may be
    // ahead of what a restart would find on disk; the stream may only be trimmed up to what is on disk.
    private readonly Queue<(long EndPosition, ulong Sequence)> _uncommittedSequences = new();
    private ulong _durableSequence;

    /// <summary>The position of <paramref name="collection"/>, which was opened with one.</summary>
    /// <exception cref="InvalidOperationException">the collection does not follow a stream.</exception>
    public static ReplicaStreamPosition Of(Collection collection) => collection.StreamSequences as ReplicaStreamPosition
        ?? throw new InvalidOperationException($"collection '{collection.Name}' is not a replica of a stream");

    private Collection OpenCollection => _collection ?? throw new InvalidOperationException("the collection is not open yet");

    /// <summary>Stream sequence of the last record applied (0 = none).</summary>
    public ulong AppliedSequence
    {
        get
        {
            lock (_lock) return _appliedSequence;
        }
    }

    /// <summary>Stream sequence of the last record enqueued (applied or about to be): where the stream resumes. Only
    /// the replica's one consumer enqueues, so no lock.</summary>
    public ulong EnqueuedSequence => Math.Max(Volatile.Read(ref _enqueuedSequence), AppliedSequence);

    /// <summary>
    /// Stream sequence of the last record that is on disk (in the snapshot or committed in the log): a restart resumes
    /// the stream after it or later, never before. It can be behind <see cref="AppliedSequence"/> (relaxed durability
    /// applies a record before its commit) or, for a moment, ahead of it (strict durability commits a record before it is
    /// applied); this, not the applied sequence, bounds how far the shard's stream may be trimmed.
    /// </summary>
    public ulong DurableSequence
    {
        get
        {
            lock (_lock)
            {
                DrainCommittedLocked();
                return _durableSequence;
            }
        }
    }

    /// <summary>
    /// Appends a record of the shard's stream, with its sequence, to the collection's log and queues it to be applied.
    /// Returns once the record has its place in the log (callers enqueue in stream order, one at a time); the returned
    /// task completes when it is applied. Records at or below the enqueued sequence are ignored (a resumed consumer may
    /// deliver some again, including records still waiting to be applied).
    /// </summary>
    /// <exception cref="ArgumentException">the record does not fit the collection (its dimension).</exception>
    public async ValueTask<Task> EnqueueAsync(LogRecord record, ulong sequence, CancellationToken cancellationToken)
    {
        if (sequence <= EnqueuedSequence)
            return Task.CompletedTask;
        return await OpenCollection.EnqueueStreamRecordAsync(record, sequence, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Completes when the applied sequence reaches <paramref name="sequence"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public Task WaitForSequenceAsync(ulong sequence, CancellationToken cancellationToken)
    {
        TaskCompletionSource reached;
        lock (_lock)
        {
            if (_appliedSequence >= sequence) return Task.CompletedTask;
            reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _sequenceWaiters.Add((sequence, reached));
        }
        return reached.Task.WaitAsync(cancellationToken);
    }

    ulong IStreamSequenceObserver.SnapshotSequence(string folder, long snapshotLogPosition) =>
        StreamSequenceFile.Resolve(folder, snapshotLogPosition);

    /// <summary>What the snapshot and the log replayed at open hold is applied, and on disk: durable from the start.</summary>
    void IStreamSequenceObserver.Opened(Collection collection, ulong appliedSequence)
    {
        _collection = collection;
        lock (_lock)
        {
            AdvanceLocked(appliedSequence);
            _durableSequence = Math.Max(_durableSequence, appliedSequence);
        }
    }

    void IStreamSequenceObserver.Enqueued(long endPosition, ulong sequence)
    {
        Volatile.Write(ref _enqueuedSequence, sequence);
        lock (_lock)
        {
            _uncommittedSequences.Enqueue((endPosition, sequence));
            // Drained here too, so the queue stays as short as the log's commit lag even when nobody asks.
            DrainCommittedLocked();
        }
    }

    void IStreamSequenceObserver.Applied(ulong sequence)
    {
        lock (_lock)
            AdvanceLocked(sequence);
    }

    // The stream-sequence file goes beside the snapshot in two steps around its rename, so that one of its two names
    // always matches the snapshot in place (StreamSequenceFile.Resolve).
    void IStreamSequenceObserver.SnapshotWriting(string folder, long logPosition, ulong sequence) =>
        StreamSequenceFile.Write(StreamSequenceFile.PendingPathIn(folder), logPosition, sequence);

    void IStreamSequenceObserver.SnapshotReplaced(string folder) =>
        File.Move(StreamSequenceFile.PendingPathIn(folder), StreamSequenceFile.PathIn(folder), overwrite: true);

    void IStreamSequenceObserver.Checkpointed(string snapshotPath, long logPosition, ulong sequence)
    {
        if (snapshotSaved is { } saved)
            _ = saved(new SavedSnapshot(OpenCollection.Name, snapshotPath, logPosition, sequence));
    }

    private void DrainCommittedLocked()
    {
        if (_collection is not { } collection) return;
        long committed = collection.CommittedLogPosition;
        while (_uncommittedSequences.TryPeek(out var head) && head.EndPosition <= committed)
        {
            _durableSequence = Math.Max(_durableSequence, head.Sequence);
            _uncommittedSequences.Dequeue();
        }
    }

    private void AdvanceLocked(ulong sequence)
    {
        if (sequence <= _appliedSequence) return;
        _appliedSequence = sequence;
        for (int i = _sequenceWaiters.Count - 1; i >= 0; i--)
        {
            if (_sequenceWaiters[i].Sequence > sequence) continue;
            _sequenceWaiters[i].Reached.TrySetResult();
            _sequenceWaiters.RemoveAt(i);
        }
    }
}
