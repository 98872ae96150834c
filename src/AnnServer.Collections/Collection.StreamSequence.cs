using AnnServer.Storage;

namespace AnnServer.Collections;

// A cluster replica's collection (docs/cluster.md): its writes are not requests but the records of its shard's
// JetStream stream, each appended to the local log with its stream sequence and applied in stream order. The sequence
// of the last record applied is what the replica reports, what a search's min_sequence waits for, and where the stream
// is resumed after a restart: records after the snapshot carry theirs in the log, and the snapshot's own is kept in
// StreamSequenceFile, written by every checkpoint.
public sealed partial class Collection
{
    private readonly bool _followsStream;
    private ulong _appliedSequence;
    private ulong _enqueuedSequence;
    private readonly List<(ulong Sequence, TaskCompletionSource Reached)> _sequenceWaiters = [];

    // Stream records appended to the log whose commit has not been seen yet, oldest first, and the sequence of the
    // last one seen committed. Relaxed durability applies a record before its commit, so the applied sequence may be
    // ahead of what a restart would find on disk; the stream may only be trimmed up to what is on disk.
    private readonly Lock _loggedSequencesLock = new();
    private readonly Queue<(long EndPosition, ulong Sequence)> _uncommittedSequences = new();
    private ulong _durableSequence;

    /// <summary>Stream sequence of the last record applied (0 = none, or not a replica).</summary>
    public ulong AppliedSequence
    {
        get
        {
            lock (_appliedLock) return _appliedSequence;
        }
    }

    /// <summary>Stream sequence of the last record enqueued (applied or about to be): where the stream resumes. Only
    /// the replica's one consumer enqueues, so no lock.</summary>
    internal ulong EnqueuedSequence => Math.Max(Volatile.Read(ref _enqueuedSequence), AppliedSequence);

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
            lock (_loggedSequencesLock)
            {
                DrainCommittedLocked();
                return _durableSequence;
            }
        }
    }

    private void DrainCommittedLocked()
    {
        long committed = _log.CommittedPosition;
        while (_uncommittedSequences.TryPeek(out var head) && head.EndPosition <= committed)
        {
            _durableSequence = Math.Max(_durableSequence, head.Sequence);
            _uncommittedSequences.Dequeue();
        }
    }

    /// <summary>What the snapshot and the log replayed at open hold is on disk: durable from the start.</summary>
    private void StartDurableSequenceAt(ulong sequence)
    {
        lock (_loggedSequencesLock)
            _durableSequence = Math.Max(_durableSequence, sequence);
    }

    /// <summary>Runs after each checkpoint of a replica with what it saved (the replica uploads the snapshot for new
    /// replicas). Exceptions are the callee's to handle.</summary>
    internal Func<SavedSnapshot, Task>? SnapshotSaved { get; set; }

    /// <summary>
    /// Appends a record of the shard's stream, with its sequence, to the log and queues it to be applied. Returns once
    /// the record has its place in the log (callers enqueue in stream order, one at a time); the returned task completes
    /// when it is applied. Records at or below the applied sequence are ignored (a resumed consumer may deliver some
    /// again, including records still waiting to be applied). The applier is started on the thread pool, so that the caller can go on enqueuing while it works and
    /// consecutive records are applied together (Collection.Writes.cs, TakeUpsertRun).
    /// </summary>
    internal async ValueTask<Task> EnqueueStreamRecordAsync(LogRecord record, ulong sequence, CancellationToken cancellationToken)
    {
        if (!_followsStream)
            throw new InvalidOperationException($"collection '{Name}' is not a replica of a stream");
        if (sequence <= EnqueuedSequence)
            return Task.CompletedTask;
        if (record.Operation == LogOperation.Upsert && record.Dimension != Dimension)
            throw new ArgumentException($"stream record {sequence} has dimension {record.Dimension}, collection '{Name}' has {Dimension}", nameof(record));
        PendingWrite write = record.Operation == LogOperation.Upsert
            ? PendingWrite.ForUpsert(new UpsertBatch(record.Dimension, record.Ids, record.Vectors!, LabelsOf(record)), 1)
            : PendingWrite.ForDelete(record.Ids, 1);
        write.StreamSequence = sequence;
        await EnqueueAsync(write, [record.WithStreamSequence(sequence)], cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _enqueuedSequence, sequence);
        lock (_loggedSequencesLock)
        {
            _uncommittedSequences.Enqueue((write.EndPosition, sequence));
            // Drained here too, so the queue stays as short as the log's commit lag even when nobody asks.
            DrainCommittedLocked();
        }
        if (Volatile.Read(ref _applying) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static collection => collection.ApplyDurableWrites(), this, preferLocal: false);
        return FinishStreamWriteAsync(write);
    }

    private async Task FinishStreamWriteAsync(PendingWrite write) => await FinishAsync(write).ConfigureAwait(false);

    /// <summary>Completes when the applied sequence reaches <paramref name="sequence"/>.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired first.</exception>
    public Task WaitForSequenceAsync(ulong sequence, CancellationToken cancellationToken)
    {
        TaskCompletionSource reached;
        lock (_appliedLock)
        {
            if (_appliedSequence >= sequence) return Task.CompletedTask;
            reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _sequenceWaiters.Add((sequence, reached));
        }
        return reached.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Called under <see cref="_appliedLock"/> when a write with a stream sequence has been applied.</summary>
    private void AdvanceSequenceLocked(ulong sequence)
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

    private static int[]?[] LabelsOf(LogRecord record)
    {
        var labels = new int[]?[record.Count];
        if (record.Labels is { } all)
            for (int i = 0; i < labels.Length; i++)
                labels[i] = all[i] is { Length: > 0 } l ? l : null;
        return labels;
    }
}

/// <summary>A checkpoint's snapshot file, the local log position and the stream sequence it covers.</summary>
internal sealed record SavedSnapshot(string Collection, string Path, long LogPosition, ulong StreamSequence);
