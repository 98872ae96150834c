using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// The write path: log first, then the index, then the acknowledgement.
//
//   request ──► _writeLock: enqueue record(s) in the log, append to _pending ──► release
//           ──► wait for the commit covering the record (Strict; shared with every writer enqueued meanwhile)
//           ──► ApplyDurableWrites: one thread at a time applies the durable head of _pending, in log order
//           ──► acknowledge
//
// Holding the lock across the commit would serialise writers at one fsync each; holding it only for the enqueue
// (microseconds) lets any number of writers wait on the same commit, so throughput grows with concurrency.
// Applying in log order keeps the index equal to "snapshot + replay of the log", whatever order the waiting writers
// wake up in; a search issued after the acknowledgement sees the write because the write was applied before it.
public sealed partial class Collection
{
    /// <summary>Batches at least this large, with distinct ids, are inserted over all cores by UpsertMany.</summary>
    private const int ParallelUpsertThreshold = 256;

    /// <summary>Most points applied in one UpsertMany call, by the write path and by replay.</summary>
    private const int MaxRunPoints = 8192;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _pendingLock = new();
    private readonly Queue<PendingWrite> _pending = new();
    private int _applying;
    private IOException? _logFailure;

    // Position just past the last record applied to the index, and counts of records and requests applied since the
    // collection was loaded (replayed ones included). Written by the one applier, read by checkpoints and Status.
    private readonly Lock _appliedLock = new();
    private long _appliedPosition;
    private long _appliedRecords;
    private long _appliedWrites;

    /// <summary>Applies a validated batch whole, after its log record is durable. Cancellation is honoured until the
    /// batch is written to the log, not after: from then on it will be applied (and replayed after a crash).</summary>
    public async ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Dimension != Dimension)
            throw new ArgumentException($"batch has dimension {batch.Dimension}, collection '{Name}' has {Dimension}", nameof(batch));
        LogRecord[] records = RequestRecords.Upsert(Name, batch, _log.MaxRecordBytes);
        WriteOutcome outcome = await WriteAsync(PendingWrite.ForUpsert(batch, records.Length), records, cancellationToken).ConfigureAwait(false);
        return new UpsertResult(outcome.Inserted, outcome.Replaced, outcome.LogPosition);
    }

    /// <summary>Deletes the ids that exist, after the delete's log record is durable. Unknown ids are counted, not an error.</summary>
    public async ValueTask<DeleteResult> DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken)
    {
        long[] array = ids.ToArray();
        LogRecord[] records = RequestRecords.Delete(Name, array, _log.MaxRecordBytes);
        WriteOutcome outcome = await WriteAsync(PendingWrite.ForDelete(array, records.Length), records, cancellationToken).ConfigureAwait(false);
        return new DeleteResult(outcome.Deleted, outcome.NotFound, outcome.LogPosition);
    }

    private async ValueTask<WriteOutcome> WriteAsync(PendingWrite write, LogRecord[] records, CancellationToken cancellationToken)
    {
        await EnqueueAsync(write, records, cancellationToken).ConfigureAwait(false);
        return await FinishAsync(write).ConfigureAwait(false);
    }

    /// <summary>Writes the records to the log and queues the write: from here on its place in the order is fixed.</summary>
    private async ValueTask EnqueueAsync(PendingWrite write, LogRecord[] records, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            if (_logFailure is { } failed) throw failed;
            cancellationToken.ThrowIfCancellationRequested();
            // No cancellation from here on: a record in the log will be replayed, so it must be applied now too.
            long end = 0;
            try
            {
                foreach (LogRecord record in records)
                    end = await _log.EnqueueAsync(record, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                throw FailLog(e);
            }
            write.EndPosition = end;
            if (_durability.Durability == LogDurability.Relaxed)
                write.MarkDurable();
            lock (_pendingLock)
                _pending.Enqueue(write);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits until the write is durable, applies what is durable, and returns the write's outcome.</summary>
    private async ValueTask<WriteOutcome> FinishAsync(PendingWrite write)
    {
        if (!write.IsDurable)
        {
            try
            {
                await _log.WaitUntilDurableAsync(write.EndPosition).ConfigureAwait(false);
                write.MarkDurable();
            }
            catch (Exception e)
            {
                FailLog(e);
            }
        }
        ApplyDurableWrites();
        return await write.Done.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Applies the durable writes at the head of the queue, in log order, on the calling thread; returns at once if
    /// another thread is doing it. No durable write is left behind: a writer that finds the applier busy has marked
    /// its write durable before trying, and the applier looks at the head again after it has stopped (both through
    /// full fences on <see cref="_applying"/>), so one of the two applies it.
    /// </summary>
    private void ApplyDurableWrites()
    {
        while (true)
        {
            if (Interlocked.CompareExchange(ref _applying, 1, 0) != 0)
                return;
            try
            {
                while (TakeDurableHead() is { } write)
                {
                    if (write.Upsert is { Count: < ParallelUpsertThreshold })
                        ApplyUpserts(TakeUpsertRun(write));
                    else
                        Apply(write);
                }
            }
            finally
            {
                Interlocked.Exchange(ref _applying, 0);
            }
            if (!HeadIsDurable())
                return;
        }
    }

    private PendingWrite? TakeDurableHead()
    {
        lock (_pendingLock)
            return _pending.TryPeek(out PendingWrite? head) && IsDurable(head) ? _pending.Dequeue() : null;
    }

    private bool HeadIsDurable()
    {
        lock (_pendingLock)
            return _pending.TryPeek(out PendingWrite? head) && IsDurable(head);
    }

    /// <summary>A commit covers a prefix of the log, so a write is durable as soon as the committed position passes
    /// it, even before its own writer has woken up: the applier then takes it along with the others.</summary>
    private bool IsDurable(PendingWrite write) => write.IsDurable || write.EndPosition <= _log.CommittedPosition;

    /// <summary>
    /// <paramref name="first"/> and the durable upserts that follow it in the queue, as long as all their ids are
    /// distinct (and at most <see cref="MaxRunPoints"/> points): applying them as one UpsertMany, over all cores, gives
    /// the state that applying them one after the other would. Many small concurrent upserts then use every core
    /// instead of one.
    /// </summary>
    private List<PendingWrite> TakeUpsertRun(PendingWrite first)
    {
        var run = new List<PendingWrite> { first };
        var seen = new HashSet<long>();
        if (!AddIfDistinct(seen, first.Upsert!.Ids))
            return run;
        int points = first.Upsert.Count;
        lock (_pendingLock)
        {
            while (_pending.TryPeek(out PendingWrite? next) && IsDurable(next) && next.Upsert is { } batch
                   && points + batch.Count <= MaxRunPoints && AddIfDistinct(seen, batch.Ids))
            {
                _pending.Dequeue();
                run.Add(next);
                points += batch.Count;
            }
        }
        return run;
    }

    /// <summary>Adds every id to <paramref name="seen"/> and returns true, or adds none and returns false when one is
    /// there already (or repeats).</summary>
    private static bool AddIfDistinct(HashSet<long> seen, long[] ids)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            if (seen.Add(ids[i])) continue;
            for (int j = 0; j < i; j++) seen.Remove(ids[j]);
            return false;
        }
        return true;
    }

    /// <summary>Applies a run of upserts with distinct ids (see <see cref="TakeUpsertRun"/>).</summary>
    private void ApplyUpserts(List<PendingWrite> run)
    {
        int points = 0;
        foreach (PendingWrite write in run) points += write.Upsert!.Count;
        if (run.Count == 1 || points < ParallelUpsertThreshold)
        {
            foreach (PendingWrite write in run) Apply(write);
            return;
        }

        int dimension = Dimension, offset = 0;
        var ids = new long[points];
        var vectors = new float[points * dimension];
        var labels = new int[]?[points];
        var outcomes = new WriteOutcome[run.Count];
        for (int w = 0; w < run.Count; w++)
        {
            UpsertBatch batch = run[w].Upsert!;
            int replaced = 0;
            foreach (long id in batch.Ids)
                if (Index.Contains(id)) replaced++;
            outcomes[w] = new WriteOutcome(batch.Count - replaced, replaced, 0, 0, run[w].EndPosition);
            batch.Ids.CopyTo(ids, offset);
            batch.Vectors.CopyTo(vectors, offset * dimension);
            batch.Labels.CopyTo(labels, offset);
            offset += batch.Count;
        }
        Exception? failure = null;
        try
        {
            Index.UpsertMany(vectors, ids, AnyLabels(labels) ? labels : null);
            Interlocked.Add(ref _upserted, points);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Collection {Name}: applying {Count} writes up to log position {Position} failed", Name, run.Count, run[^1].EndPosition);
            failure = e;
        }
        for (int w = 0; w < run.Count; w++)
            Complete(run[w], outcomes[w], failure);
    }

    private void Apply(PendingWrite write)
    {
        WriteOutcome outcome = default;
        Exception? failure = null;
        try
        {
            if (write.Upsert is { } batch)
            {
                int replaced = ApplyUpsert(batch.Vectors, batch.Ids, batch.Labels);
                outcome = new WriteOutcome(batch.Count - replaced, replaced, 0, 0, write.EndPosition);
                Interlocked.Add(ref _upserted, batch.Count);
            }
            else
            {
                long[] ids = write.DeleteIds!;
                int deleted = ApplyDelete(ids);
                outcome = new WriteOutcome(0, 0, deleted, ids.Length - deleted, write.EndPosition);
                Interlocked.Add(ref _deleted, deleted);
            }
        }
        catch (Exception e)
        {
            // Requests are validated before they are logged, so this is a bug; the record stays in the log.
            _logger.LogError(e, "Collection {Name}: applying the write at log position {Position} failed", Name, write.EndPosition);
            failure = e;
        }
        Complete(write, outcome, failure);
    }

    /// <summary>Records that <paramref name="write"/> is applied (its log position becomes the one a checkpoint covers)
    /// and acknowledges it.</summary>
    private void Complete(PendingWrite write, WriteOutcome outcome, Exception? failure)
    {
        lock (_appliedLock)
        {
            _appliedPosition = write.EndPosition;
            _appliedRecords += write.RecordCount;
            _appliedWrites++;
            if (write.StreamSequence != 0)
                AdvanceSequenceLocked(write.StreamSequence);
        }
        if (failure is null) write.Done.TrySetResult(outcome);
        else write.Done.TrySetException(failure);
        CheckpointIfDue();
    }

    private int ApplyUpsert(ReadOnlyMemory<float> vectors, long[] ids, IReadOnlyList<int[]?>? labels) =>
        ApplyUpsert(Index, vectors, ids, labels);

    /// <summary>Inserts or replaces points in order; returns how many replaced an existing id.</summary>
    private int ApplyUpsert(HnswIndex index, ReadOnlyMemory<float> vectors, long[] ids, IReadOnlyList<int[]?>? labels)
    {
        int dimension = Dimension, replaced = 0;
        if (ids.Length >= ParallelUpsertThreshold && AllDistinct(ids))
        {
            // Distinct ids: the order of insertion does not change the outcome, so all cores can insert.
            foreach (long id in ids)
                if (index.Contains(id)) replaced++;
            index.UpsertMany(vectors, ids, AnyLabels(labels) ? labels : null);
            return replaced;
        }
        ReadOnlySpan<float> all = vectors.Span;
        for (int i = 0; i < ids.Length; i++)
        {
            if (index.Upsert(ids[i], all.Slice(i * dimension, dimension), labels is null ? default : labels[i]))
                replaced++;
        }
        return replaced;
    }

    private int ApplyDelete(long[] ids) => ApplyDelete(Index, ids);

    /// <summary>Deletes the ids that exist; returns how many did.</summary>
    private static int ApplyDelete(HnswIndex index, long[] ids)
    {
        int deleted = 0;
        foreach (long id in ids)
            if (index.Delete(id)) deleted++;
        return deleted;
    }

    /// <summary>
    /// A commit or an enqueue failed (the disk is full or failing). Whether the records in flight reached the disk is
    /// unknown, so the index cannot follow the log any more: every queued write fails, and the collection refuses
    /// writes until the server restarts and recovers from what the log really holds. Searches go on.
    /// </summary>
    private IOException FailLog(Exception e)
    {
        var failure = new IOException(
            $"the write-ahead log of collection '{Name}' failed ({e.Message}); writes to it are refused until the server restarts", e);
        if (Interlocked.CompareExchange(ref _logFailure, failure, null) is null)
            _logger.LogError(e, "Collection {Name}: the write-ahead log failed; writes are refused until the server restarts", Name);
        List<PendingWrite> failed;
        lock (_pendingLock)
        {
            failed = [.. _pending];
            _pending.Clear();
        }
        foreach (PendingWrite write in failed)
            write.Done.TrySetException(_logFailure!);
        return _logFailure!;
    }

    private static bool AnyLabels(IReadOnlyList<int[]?>? labels)
    {
        if (labels is null) return false;
        for (int i = 0; i < labels.Count; i++)
            if (labels[i] is { Length: > 0 }) return true;
        return false;
    }

    private static bool AllDistinct(long[] ids)
    {
        var seen = new HashSet<long>(ids.Length);
        foreach (long id in ids)
            if (!seen.Add(id)) return false;
        return true;
    }
}
