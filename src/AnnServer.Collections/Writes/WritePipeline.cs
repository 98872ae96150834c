using System.Diagnostics;
using AnnServer.Collections.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// The write path: log first, then the index, then the acknowledgement.
//
//   request ──► _writeLock: enqueue record(s) in the log, append to _pending ──► release
//           ──► the applier (one at a time, RunApplierAsync) takes the head of _pending, in log order:
//                 a run of upserts: link their points into the graph, invisible ─┐ overlapped with
//                                   (HnswIndex.LinkManyUnchecked, all cores)     │ the log commit
//                 any other write:  -                                            ┘ covering them
//               ──► wait for that commit (Strict; shared with every writer enqueued meanwhile)
//               ──► make the points live (CommitLinked) or apply the write, in log order
//           ──► acknowledge
//
// Holding the lock across the commit would serialise writers at one fsync each; holding it only for the enqueue
// (microseconds) lets any number of writers wait on the same commit, so throughput grows with concurrency.
// Linking before the commit is durable hides the commit's latency behind the graph insert (the expensive part); the
// points stay invisible to every read until the commit is durable, so no read sees a write that a crash could take
// back, and a failed commit leaves them as tombstones that were never visible. Applying in log order keeps the index
// equal to "snapshot + replay of the log", whatever order the waiting writers wake up in; a search issued after the
// acknowledgement sees the write because the write was applied before it.

/// <summary>
/// A collection's writes, from request to acknowledgement (the diagram above): the enqueue in the log, the wait for
/// the commit, the apply in log order, and the failure of the log. Owns <see cref="_writeLock"/>, which fixes each
/// write's place in the log and in <see cref="_pending"/> (<see cref="PendingWriteQueue"/>, lock of its own), the
/// applier's place (<see cref="_applying"/>, which checkpoints and compaction take to pause applies), and the closed
/// flag, set under the write lock. What is applied is recorded in <see cref="AppliedProgress"/> (lock of its own).
/// </summary>
internal sealed class WritePipeline
{
    private readonly string _name;
    private readonly int _dimension;
    private readonly CollectionLog _log;
    private readonly DurabilityOptions _durability;
    private readonly IndexSlot _index;
    private readonly AppliedProgress _applied;
    private readonly IStreamSequenceObserver? _streamSequences;
    private readonly Action _afterApply;
    private readonly ILogger _logger;

    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private volatile bool _closed;
    private readonly PendingWriteQueue _pending;
    private readonly PayloadFieldKinds _fieldKinds = new();
    private int _applying;
    private int _pausesWaiting;
    private IOException? _logFailure;

    private long _upserted;
    private long _deleted;

    /// <param name="afterApply">runs after each applied write has been acknowledged (the automatic checkpoint's trigger).</param>
    public WritePipeline(string name, int dimension, CollectionLog log, DurabilityOptions durability, IndexSlot index,
        AppliedProgress applied, IStreamSequenceObserver? streamSequences, Action afterApply, ILogger logger)
    {
        _name = name;
        _dimension = dimension;
        _log = log;
        _durability = durability;
        _index = index;
        _applied = applied;
        _streamSequences = streamSequences;
        _afterApply = afterApply;
        _logger = logger;
        _pending = new PendingWriteQueue();
    }

    /// <summary>Set by <see cref="CloseAsync"/> (a drop or a shutdown): writes, checkpoints and new leases are refused.</summary>
    public bool IsClosed => _closed;

    /// <summary>Points inserted or replaced by requests since the collection was loaded (replayed writes not counted).</summary>
    public long UpsertedCount => Interlocked.Read(ref _upserted);

    /// <summary>Points deleted by requests since the collection was loaded (replayed writes not counted).</summary>
    public long DeletedCount => Interlocked.Read(ref _deleted);

    public void ThrowIfClosed()
    {
        if (_closed) throw new CollectionNotFoundException(_name);
    }

    /// <summary>Refuses writes from now on. Taking the write lock means no request is between its enqueue and its place
    /// in the queue; whoever waits on the lock next sees <see cref="IsClosed"/> and gives up.</summary>
    public async Task CloseAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _closed = true;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Applies a validated batch whole, after its log record is durable. Cancellation is honoured until the
    /// batch is written to the log, not after: from then on it will be applied (and replayed after a crash). Payloads are
    /// encoded (checking their limits) before, and their fields' kinds checked and reserved under the write lock, so a
    /// batch in the log cannot fail to apply.</summary>
    public async ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Dimension != _dimension)
            throw new ArgumentException($"batch has dimension {batch.Dimension}, collection '{_name}' has {_dimension}", nameof(batch));
        Payload?[]? payloads = batch.Payloads;
        byte[]?[]? blobs = payloads is null ? null : PayloadBlobs.OfPoints(payloads, batch.Ids);
        LogRecord[] records = RequestRecords.Upsert(_name, batch, _log.MaxRecordBytes, blobs);
        Func<ValueTask>? reserveKinds = payloads is null ? null : () =>
        {
            _fieldKinds.Reserve(payloads, _index.Index, i => PayloadBlobs.PointName(batch.Ids, i));
            return ValueTask.CompletedTask;
        };
        WriteOutcome outcome = await WriteAsync(PendingWrite.ForUpsert(batch, records.Length), records, cancellationToken, reserveKinds)
            .ConfigureAwait(false);
        return new UpsertResult(outcome.Inserted, outcome.Replaced, outcome.LogPosition);
    }

    /// <summary>
    /// Sets (merge) or replaces the payload of the existing ids among <paramref name="ids"/>, after the write's log record
    /// is durable. Checked whole before it is logged: the payload's limits, its fields' kinds (reserved under the write
    /// lock), and for a merge the fields each point would have. That last check needs the points' payloads after every
    /// write before it, so when the collection has more fields than a point may hold, a merge waits under the write lock
    /// for the writes in flight to be applied (it does not share their commit).
    /// </summary>
    public async ValueTask<PayloadWriteResult> SetPayloadAsync(long[] ids, Payload payload, PayloadWriteMode mode,
        CancellationToken cancellationToken)
    {
        if (mode == PayloadWriteMode.Merge && payload.Count == 0)
            throw new ArgumentException("payload is empty: a merge needs at least one field to set (a replace with no fields clears the payload)");
        byte[]? blob = PayloadBlobs.OfChange(payload, ids.Length);
        LogPayloadMode logMode = mode == PayloadWriteMode.Merge ? LogPayloadMode.Set : LogPayloadMode.Replace;
        LogRecord[] records = RequestRecords.SetPayload(_name, logMode, ids, SameBlob(ids.Length, blob), _log.MaxRecordBytes);
        var change = new PayloadChange(logMode, ids, payload.Count == 0 ? null : payload, null);
        WriteOutcome outcome = await WriteAsync(PendingWrite.ForPayloadChange(change, records.Length), records, cancellationToken,
            async () =>
            {
                if (mode == PayloadWriteMode.Merge) await CheckMergedFieldCountsAsync(ids, payload).ConfigureAwait(false);
                _fieldKinds.Reserve([payload], _index.Index, _ => "payload");
            }).ConfigureAwait(false);
        return new PayloadWriteResult(outcome.Updated, outcome.NotFound, outcome.LogPosition);
    }

    /// <summary>Removes the named fields from the payloads of the existing ids among <paramref name="ids"/>, after the
    /// write's log record is durable. Names a point does not have are ignored.</summary>
    public async ValueTask<PayloadWriteResult> DeletePayloadAsync(long[] ids, IReadOnlyList<string> fields, CancellationToken cancellationToken)
    {
        string[] names = [.. fields];
        byte[] blob = PayloadBlobs.OfFieldNames(names, ids.Length);
        LogRecord[] records = RequestRecords.SetPayload(_name, LogPayloadMode.DeleteFields, ids, SameBlob(ids.Length, blob), _log.MaxRecordBytes);
        var change = new PayloadChange(LogPayloadMode.DeleteFields, ids, null, names);
        WriteOutcome outcome = await WriteAsync(PendingWrite.ForPayloadChange(change, records.Length), records, cancellationToken)
            .ConfigureAwait(false);
        return new PayloadWriteResult(outcome.Updated, outcome.NotFound, outcome.LogPosition);
    }

    /// <summary>
    /// A merge must leave no point with more than <see cref="PayloadLimits.MaxFieldsPerPoint"/> fields. A point's fields
    /// are among the collection's, so a collection with few enough fields needs no look at the points; otherwise the
    /// writes in flight are waited for (under the write lock, so none is added meanwhile) and each point is counted.
    /// </summary>
    private async ValueTask CheckMergedFieldCountsAsync(long[] ids, Payload payload)
    {
        HnswIndex index = _index.Index;
        if (_fieldKinds.CountWith(payload, index) <= PayloadLimits.MaxFieldsPerPoint) return;
        if (_pending.Last is { } last)
        {
            try
            {
                await last.Done.Task.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Its own writer hears of its failure; here only its being done matters.
            }
        }
        if (StreamRecordPayloads.FirstOverFieldsPerPoint(ids, payload, _index.Index) is { } overLimit)
            throw new ArgumentException($"ids: {overLimit}");
    }

    private static byte[]?[] SameBlob(int count, byte[]? blob)
    {
        var blobs = new byte[]?[count];
        Array.Fill(blobs, blob);
        return blobs;
    }

    /// <summary>Deletes the ids that exist, after the delete's log record is durable. Unknown ids are counted, not an error.</summary>
    public async ValueTask<DeleteResult> DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken)
    {
        long[] array = ids.ToArray();
        LogRecord[] records = RequestRecords.Delete(_name, array, _log.MaxRecordBytes);
        WriteOutcome outcome = await WriteAsync(PendingWrite.ForDelete(array, records.Length), records, cancellationToken).ConfigureAwait(false);
        return new DeleteResult(outcome.Deleted, outcome.NotFound, outcome.LogPosition);
    }

    /// <summary>
    /// Appends a record of a stream, with its sequence, to the log and queues it to be applied (see
    /// <see cref="Collection.EnqueueStreamRecordAsync"/>). Returns once the record has its place in the log; the
    /// returned task completes when it is applied. The applier is started on the thread pool, so that the caller can go
    /// on enqueuing while it works and consecutive records are applied together (<see cref="PendingWriteQueue.TakeUpsertRun"/>).
    /// </summary>
    public async ValueTask<Task> EnqueueStreamRecordAsync(LogRecord record, ulong sequence, CancellationToken cancellationToken)
    {
        IStreamSequenceObserver streamSequences = _streamSequences
            ?? throw new InvalidOperationException($"collection '{_name}' is not a replica of a stream");
        if (record.Operation == LogOperation.Upsert && record.Dimension != _dimension)
            throw new ArgumentException($"stream record {sequence} has dimension {record.Dimension}, collection '{_name}' has {_dimension}", nameof(record));
        if (record.Operation == LogOperation.Upsert)
            CollectionVector.CheckFinite(record, $"stream record {sequence} of collection '{_name}'");
        // Payload values whose kind conflicts with their field's (and a merge past the fields a point may have) are left
        // out under the write lock, where every record before this one is known, and the record is logged as applied
        // (StreamRecordPayloads).
        LogRecord[] logged = [record.WithStreamSequence(sequence)];
        var dropped = new List<string>();
        Func<ValueTask>? conform = null;
        PendingWrite write;
        switch (record.Operation)
        {
            case LogOperation.Upsert:
                Payload?[]? payloads = StreamRecordPayloads.DecodeUpsert(record, sequence);
                write = PendingWrite.ForUpsert(new UpsertBatch(record.Dimension, record.Ids, record.Vectors!, LabelsOf(record), payloads), 1);
                if (payloads is not null)
                    conform = () =>
                    {
                        logged[0] = StreamRecordPayloads.ConformUpsert(logged[0], payloads, _fieldKinds, _index.Index, dropped);
                        return ValueTask.CompletedTask;
                    };
                break;
            case LogOperation.Delete:
                write = PendingWrite.ForDelete(record.Ids, 1);
                break;
            case LogOperation.SetPayload:
                PayloadChange change = StreamRecordPayloads.DecodeChange(record, sequence, out Payload? decoded, out Payload? target);
                write = PendingWrite.ForPayloadChange(change, 1);
                if (decoded is not null)
                    conform = async () => logged[0] = await StreamRecordPayloads.ConformChangeAsync(logged[0], decoded, target!, _fieldKinds,
                        _index.Index, dropped, async merge =>
                        {
                            // As CheckMergedFieldCountsAsync: the points' payloads after every write before this one.
                            await WaitForPendingAsync().ConfigureAwait(false);
                            return StreamRecordPayloads.FirstOverFieldsPerPoint(change.Ids, merge, _index.Index);
                        }).ConfigureAwait(false);
                break;
            default:
                throw new ArgumentException($"stream record {sequence} is a {record.Operation} record, which a replica does not apply", nameof(record));
        }
        write.StreamSequence = sequence;
        await EnqueueAsync(write, logged, cancellationToken, conform).ConfigureAwait(false);
        if (dropped.Count > 0)
            _logger.LogWarning("Collection {Name}: stream record {Sequence} applied without payload values the collection cannot hold ({Dropped}); " +
                "every replica of the shard does the same", _name, sequence, string.Join("; ", dropped));
        streamSequences.Enqueued(write.EndPosition, sequence);
        StartApplier(onThreadPool: true);
        return FinishStreamWriteAsync(write);
    }

    /// <summary>Waits (under the write lock, so none is added meanwhile) until the writes in flight are applied.</summary>
    private async ValueTask WaitForPendingAsync()
    {
        if (_pending.Last is not { } last) return;
        try
        {
            await last.Done.Task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its own writer hears of its failure; here only its being done matters.
        }
    }

    private static async Task FinishStreamWriteAsync(PendingWrite write) => await write.Done.Task.ConfigureAwait(false);

    /// <summary>Takes the applier's place, so that no write is applied until <see cref="ResumeApplies"/>; writes go on
    /// being logged and committed, and wait for their acknowledgement.</summary>
    public async Task PauseAppliesAsync()
    {
        // The applier links ahead as long as writes keep coming; a pause waiting makes it stop linking and give its
        // place back once what it linked is live (RunApplierAsync).
        Interlocked.Increment(ref _pausesWaiting);
        try
        {
            while (Interlocked.CompareExchange(ref _applying, 1, 0) != 0)
                await Task.Delay(1).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _pausesWaiting);
        }
    }

    /// <summary>Gives the applier's place back and applies what was queued meanwhile.</summary>
    public void ResumeApplies()
    {
        Interlocked.Exchange(ref _applying, 0);
        if (_pending.Count > 0) StartApplier(onThreadPool: true);
    }

    private async ValueTask<WriteOutcome> WriteAsync(PendingWrite write, LogRecord[] records, CancellationToken cancellationToken,
        Func<ValueTask>? checkBeforeLog = null)
    {
        using (Activity? commit = CollectionTracing.StartLogCommit(_name, records.Length))
        {
            await EnqueueAsync(write, records, cancellationToken, checkBeforeLog).ConfigureAwait(false);
            StartApplier();
            await WaitUntilDurableAsync(write).ConfigureAwait(false);
            commit?.SetTag("ann.log_position", write.EndPosition);
        }
        return await write.Done.Task.ConfigureAwait(false);
    }

    /// <summary>Writes the records to the log and queues the write: from here on its place in the order is fixed.
    /// <paramref name="checkBeforeLog"/> runs under the write lock first, where the writes before this one are known and
    /// none can come between: a check that throws there refuses the write with nothing logged.</summary>
    private async ValueTask EnqueueAsync(PendingWrite write, LogRecord[] records, CancellationToken cancellationToken,
        Func<ValueTask>? checkBeforeLog = null)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfClosed();
            if (_logFailure is { } failed) throw failed;
            if (checkBeforeLog is not null) await checkBeforeLog().ConfigureAwait(false);
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
            _pending.Enqueue(write);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Waits until the write is durable (for the trace's commit span; the applier waits on its own).</summary>
    private async ValueTask WaitUntilDurableAsync(PendingWrite write)
    {
        if (write.IsDurable) return;
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

    /// <summary>
    /// Takes the applier's place and runs the applier, unless it runs already: on the calling thread until its first
    /// wait for the log (a request's writer, which has nothing else to do meanwhile), or on the thread pool
    /// (<paramref name="onThreadPool"/>: a stream's reader, which goes on enqueuing). No queued write is left behind: a
    /// writer queues its write before it tries, and the applier looks at the queue again after it has given its place
    /// back (both through full fences on <see cref="_applying"/>), so one of the two applies it.
    /// </summary>
    private void StartApplier(bool onThreadPool = false)
    {
        if (Interlocked.CompareExchange(ref _applying, 1, 0) != 0) return;
        if (onThreadPool)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static pipeline => _ = pipeline.RunApplierAsync(), this, preferLocal: false);
            return;
        }
        // The applier serves every writer: it carries none's execution context (its trace span, its call's locals).
        using (ExecutionContext.SuppressFlow())
            _ = RunApplierAsync();
    }

    /// <summary>
    /// Applies the queue from its head, in log order, until it is empty (the diagram above). Upserts are linked ahead:
    /// while the commit of one run is on its way the next runs are linked, and runs are made live, in order, as their
    /// commits become durable. A delete or a payload change waits until every run before it is live and it is durable.
    /// Holds the applier's place, which <see cref="PauseAppliesAsync"/> waits for, across its waits for the log; a
    /// pause waiting stops the linking ahead, so that the place is given back once what was linked is live.
    /// </summary>
    private async Task RunApplierAsync()
    {
        var linked = new Queue<LinkedRun>();
        while (true)
        {
            try
            {
                while (true)
                {
                    while (linked.TryPeek(out LinkedRun? ready) && IsDurable(ready.Last))
                        MakeLive(linked.Dequeue());
                    bool pauseWaiting = Volatile.Read(ref _pausesWaiting) > 0;
                    PendingWrite? next = _pending.PeekHead();
                    if (!pauseWaiting && next?.Upsert is { Count: < IndexWrites.MaxRunPoints } && _pending.TakeHead() is { } first)
                    {
                        linked.Enqueue(Link(_pending.TakeUpsertRun(first) ?? [first]));
                        continue;
                    }
                    if (linked.Count > 0)
                    {
                        // Writes that arrive meanwhile are linked after the wait, as one run: waking for each of them
                        // made runs of one point at batch 1 and measured slower (32 writers: 0.75x).
                        if (!await WaitUntilDurableForApplyAsync(linked.Peek().Last).ConfigureAwait(false))
                        {
                            FailLinked(linked);
                            return;
                        }
                        continue;
                    }
                    if (next is null || (pauseWaiting && next.Upsert is not null) || _pending.TakeHead() is not { } write)
                        break;
                    if (await WaitUntilDurableForApplyAsync(write).ConfigureAwait(false))
                        Apply(write);
                    else
                        write.Done.TrySetException(_logFailure!);
                }
            }
            catch (Exception e)
            {
                // Every write's failure is caught where it is applied; this is a bug, and the queue would stall on it.
                _logger.LogError(e, "Collection {Name}: the write applier failed", _name);
            }
            finally
            {
                Interlocked.Exchange(ref _applying, 0);
            }
            if (_pending.Count == 0 || Volatile.Read(ref _pausesWaiting) > 0 || Interlocked.CompareExchange(ref _applying, 1, 0) != 0)
                return;
        }
    }

    /// <summary>A commit covers a prefix of the log, so a write is durable as soon as the committed position passes
    /// it, even before its own writer has woken up.</summary>
    private bool IsDurable(PendingWrite write) => write.IsDurable || write.EndPosition <= _log.CommittedPosition;

    /// <summary>True once everything up to <paramref name="last"/> is durable; false when the log failed (then every
    /// write still queued has failed, <see cref="FailLog"/>, and the caller fails the ones it took).</summary>
    private async ValueTask<bool> WaitUntilDurableForApplyAsync(PendingWrite last)
    {
        if (IsDurable(last)) return true;
        try
        {
            await _log.WaitUntilDurableAsync(last.EndPosition).ConfigureAwait(false);
            return true;
        }
        catch (Exception e)
        {
            FailLog(e);
            return false;
        }
    }

    /// <summary>Links the points of a run of upserts into the graph over all cores, invisible until <see cref="MakeLive"/>.</summary>
    private LinkedRun Link(List<PendingWrite> run)
    {
        int points = 0;
        foreach (PendingWrite write in run) points += write.Upsert!.Count;
        int dimension = _dimension, offset = 0;
        var ids = new long[points];
        var vectors = new float[points * dimension];
        var labels = new int[]?[points];
        Payload?[]? payloads = null;
        foreach (PendingWrite write in run)
        {
            UpsertBatch batch = write.Upsert!;
            batch.Ids.CopyTo(ids, offset);
            batch.Vectors.CopyTo(vectors, offset * dimension);
            batch.Labels.CopyTo(labels, offset);
            if (batch.Payloads is { } batchPayloads)
                batchPayloads.CopyTo(payloads ??= new Payload?[points], offset);
            offset += batch.Count;
        }
        try
        {
            return new LinkedRun(run, _index.Index.LinkManyUnchecked(vectors, ids, IndexWrites.AnyLabels(labels) ? labels : null, payloads), null);
        }
        catch (Exception e)
        {
            // Requests are validated before they are logged, so this is a bug; the records stay in the log.
            _logger.LogError(e, "Collection {Name}: applying {Count} writes up to log position {Position} failed", _name, run.Count, run[^1].EndPosition);
            return new LinkedRun(run, null, e);
        }
    }

    /// <summary>Makes each write's points live and acknowledges it, in log order (the run's commit is durable).</summary>
    private void MakeLive(LinkedRun run)
    {
        HnswIndex index = _index.Index;
        int offset = 0;
        foreach (PendingWrite write in run.Writes)
        {
            int count = write.Upsert!.Count;
            WriteOutcome outcome = default;
            Exception? failure = run.Failure;
            if (run.Points is { } points)
            {
                try
                {
                    int replaced = index.CommitLinked(points, offset, offset + count);
                    outcome = new WriteOutcome(count - replaced, replaced, 0, 0, write.EndPosition);
                    Interlocked.Add(ref _upserted, count);
                }
                catch (Exception e)
                {
                    _logger.LogError(e, "Collection {Name}: applying the write at log position {Position} failed", _name, write.EndPosition);
                    failure = e;
                }
            }
            offset += count;
            Complete(write, outcome, failure);
        }
    }

    /// <summary>The log failed: the linked points stay invisible (tombstones), and their writes fail.</summary>
    private void FailLinked(Queue<LinkedRun> linked)
    {
        while (linked.TryDequeue(out LinkedRun? run))
        {
            if (run.Points is { } points) _index.Index.AbandonLinked(points);
            foreach (PendingWrite write in run.Writes) write.Done.TrySetException(_logFailure!);
        }
    }

    private void Apply(PendingWrite write)
    {
        WriteOutcome outcome = default;
        Exception? failure = null;
        try
        {
            if (write.Upsert is { } batch)
            {
                int replaced = IndexWrites.Upsert(_index.Index, batch.Vectors, batch.Ids, batch.Labels, batch.Payloads);
                outcome = new WriteOutcome(batch.Count - replaced, replaced, 0, 0, write.EndPosition);
                Interlocked.Add(ref _upserted, batch.Count);
            }
            else if (write.PayloadChange is { } change)
            {
                int updated = change.ApplyTo(_index.Index);
                outcome = new WriteOutcome(0, 0, 0, change.Ids.Length - updated, write.EndPosition, updated);
            }
            else
            {
                long[] ids = write.DeleteIds!;
                int deleted = IndexWrites.Delete(_index.Index, ids);
                outcome = new WriteOutcome(0, 0, deleted, ids.Length - deleted, write.EndPosition);
                Interlocked.Add(ref _deleted, deleted);
            }
        }
        catch (Exception e)
        {
            // Requests are validated before they are logged, so this is a bug; the record stays in the log.
            _logger.LogError(e, "Collection {Name}: applying the write at log position {Position} failed", _name, write.EndPosition);
            failure = e;
        }
        Complete(write, outcome, failure);
    }

    /// <summary>Records that <paramref name="write"/> is applied (its log position becomes the one a checkpoint covers)
    /// and acknowledges it.</summary>
    private void Complete(PendingWrite write, WriteOutcome outcome, Exception? failure)
    {
        _applied.Advance(write);
        // Only the applier completes writes, one at a time: the observer hears of the sequences in log order.
        if (write.StreamSequence != 0)
            _streamSequences?.Applied(write.StreamSequence);
        if (failure is null) write.Done.TrySetResult(outcome);
        else write.Done.TrySetException(failure);
        _afterApply();
    }

    /// <summary>
    /// A commit or an enqueue failed (the disk is full or failing). Whether the records in flight reached the disk is
    /// unknown, so the index cannot follow the log any more: every queued write fails, and the collection refuses
    /// writes until the server restarts and recovers from what the log really holds. Searches go on.
    /// </summary>
    private IOException FailLog(Exception e)
    {
        var failure = new IOException(
            $"the write-ahead log of collection '{_name}' failed ({e.Message}); writes to it are refused until the server restarts", e);
        if (Interlocked.CompareExchange(ref _logFailure, failure, null) is null)
            _logger.LogError(e, "Collection {Name}: the write-ahead log failed; writes are refused until the server restarts", _name);
        foreach (PendingWrite write in _pending.TakeAll())
            write.Done.TrySetException(_logFailure!);
        return _logFailure!;
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
