using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

// Compaction: the first step of a checkpoint once tombstones (deleted points, and the old nodes of replaced ones) are
// DurabilityOptions.CompactDeletedFraction of the nodes or more. They keep their memory and every search steps over
// them, and an index whose points are re-embedded once a day would double its nodes every day.
//
// The live points are copied into a new index while searches and writes go on against the old one. The records
// applied since the copy began are then read back from the log and applied to the new index, in rounds while writes go
// on, until a round finds only a few; the last few are applied with the applier paused (writes are still logged and
// committed, and wait for their acknowledgement), and the new index takes the old one's place; the checkpoint goes on
// to save it. A record whose effect the copy already saw does no harm when applied again, for the
// reason checkpoints give (Checkpointer.cs): the last operation on an id decides it. The old index is
// disposed once the last search still reading it has finished (IndexGeneration).
//
// A drop, a close and a server shutdown cancel a compaction in progress (Stop): the copy stops within one
// point per thread, the catch-up between records, the new index is disposed, and the collection keeps its index, which
// every write was applied to all along. Nothing is lost: the compaction only ever wrote to the new index. Once stopped,
// a collection never compacts again (a shutdown's own checkpoint saves the index with its tombstones).

/// <summary>
/// A collection's compaction (the comment above): run by a checkpoint, under the checkpoint lock, before it reads the
/// position it covers; its cancellation, for good, by a drop, a close or a shutdown; the check of the memory it needs,
/// against the process's limit and the server's memory budget; and its counters. No lock of its own: the checkpoint
/// lock keeps compactions one at a time, the switch to the new index happens with the applier paused
/// (<see cref="WritePipeline.PauseAppliesAsync"/>), the cancellation is a <see cref="CancellationTokenSource"/>, and
/// the counters are interlocked.
/// </summary>
internal sealed class Compactor
{
    // Points copied per batch: the batch's vectors are the only copy held outside the two indexes.
    private const int CompactionBatch = 4096;

    // Catch-up rounds before the pause: each applies the log records written during the previous one.
    private const int MaxCatchUpRounds = 5;
    private const long FewEnoughToPauseFor = 64;

    private readonly string _name;
    private readonly CollectionLog _log;
    private readonly DurabilityOptions _durability;
    private readonly IndexSlot _index;
    private readonly AppliedProgress _applied;
    private readonly WritePipeline _writes;
    private readonly ILogger _logger;

    /// <summary>The server's memory budget when one was given (--memory-budget-bytes), which a compaction reserves its
    /// new index in; null: the collection is not counted in one (the automatic budget, a cluster replica).</summary>
    private readonly MemoryBudget? _compactionBudget;

    private long _compactions;
    private long _compactionReappliedRecords;
    private long _compactionsCancelled;
    private long _compactionsSkippedForMemory;

    // Cancelled once, for good, by Stop; never disposed (it has no timer, and a compaction may still read it).
    private readonly CancellationTokenSource _compactionStop = new();
    private string? _compactionStopReason;

    /// <param name="compactionBudget">the server's memory budget when one was given (--memory-budget-bytes); null: none.</param>
    public Compactor(string name, CollectionLog log, DurabilityOptions durability, IndexSlot index, AppliedProgress applied,
        WritePipeline writes, MemoryBudget? compactionBudget, ILogger logger)
    {
        _name = name;
        _log = log;
        _durability = durability;
        _index = index;
        _applied = applied;
        _writes = writes;
        _compactionBudget = compactionBudget;
        _logger = logger;
    }

    /// <summary>Compactions since the collection was loaded.</summary>
    public long Compactions => Interlocked.Read(ref _compactions);

    /// <summary>Log records that were applied while a compaction copied the index, and applied to the copy after it.</summary>
    public long CompactionReappliedRecords => Interlocked.Read(ref _compactionReappliedRecords);

    /// <summary>Compactions cancelled by a drop, a close or a server shutdown before the new index took the old one's place.</summary>
    public long CompactionsCancelled => Interlocked.Read(ref _compactionsCancelled);

    /// <summary>Runs between the copy and the switch (tests: writes made there must reach the new index).</summary>
    internal Func<Task>? AfterCopy { get; set; }

    /// <summary>Runs on each copy thread before each batch it copies, given the compaction's cancellation (tests: hold
    /// the copy until a shutdown or a drop cancels it).</summary>
    internal Action<CancellationToken>? BeforeCopyBatch { get; set; }

    /// <summary>The memory the process may use, for the check before a compaction; null: what the runtime reports
    /// (the container's limit, or the machine's memory). Tests lower it.</summary>
    internal long? MemoryLimitBytes { get; set; }

    /// <summary>Compactions put off because the new index would not have fitted beside the old one, in memory or in the
    /// memory budget.</summary>
    public long CompactionsSkippedForMemory => Interlocked.Read(ref _compactionsSkippedForMemory);

    /// <summary>
    /// Cancels the compaction in progress, if any, and every later one: a server shutdown (which should not wait tens
    /// of seconds for a copy whose result it would throw away), a drop or a close. The checkpoint the compaction belongs
    /// to goes on with the index the collection has (a checkpoint of a closed collection stops).
    /// </summary>
    public void Stop(string reason)
    {
        Interlocked.CompareExchange(ref _compactionStopReason, reason, null);
        _compactionStop.Cancel();
    }

    /// <summary>Compacts when the tombstones are due (the comment above). Called by a checkpoint, under the checkpoint
    /// lock, before it reads the position it covers.</summary>
    public async Task CompactIfDueAsync()
    {
        HnswIndex old = _index.Index;
        int nodes = old.NodeCount, live = old.Count;
        double fraction = _durability.CompactDeletedFraction;
        if (fraction <= 0 || nodes == 0 || nodes - live < fraction * nodes)
            return;
        CancellationToken stop = _compactionStop.Token;
        if (stop.IsCancellationRequested)
        {
            _logger.LogInformation("Collection {Name}: {Tombstones} of its {Nodes} nodes are tombstones, but it is not compacted: {Reason}",
                _name, nodes - live, nodes, _compactionStopReason);
            return;
        }

        // Both indexes are held until the switch: a compaction that would take the process past 90 % of its memory is
        // put off (the next checkpoint tries again), rather than risk the OOM killer. The old index's share of bytes
        // per live point counts labels; the engine's layout counts whole storage chunks, which is more for a small
        // index (its first chunks, 8 to 16 MiB each, are mostly empty).
        long needed = Math.Max((long)(old.MemoryBytes * ((double)live / nodes)),
            MemoryEstimate.UpsertBytes(old.Dimension, old.M, old.Quantization, nodesBefore: 0, added: live));
        long limit = MemoryLimitBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long resident = Environment.WorkingSet;
        if (resident + needed > limit * 0.9)
        {
            Interlocked.Increment(ref _compactionsSkippedForMemory);
            _logger.LogWarning(
                "Collection {Name}: {Tombstones} of its {Nodes} nodes are tombstones, but compacting them away needs about {Needed} bytes " +
                "beside the index, and the process holds {Resident} of the {Limit} bytes it may use: not compacted",
                _name, nodes - live, nodes, needed, resident, limit);
            return;
        }
        // With a memory budget given (--memory-budget-bytes), the new index is counted in it from now until the next
        // measurement after the switch sees it, so that writes admitted meanwhile leave it room; a compaction that
        // would take the collections past the budget is put off like the above.
        long reserved = 0;
        if (_compactionBudget is { } budget)
        {
            if (!budget.TryReserve(needed, out long counted))
            {
                Interlocked.Increment(ref _compactionsSkippedForMemory);
                _logger.LogWarning(
                    "Collection {Name}: {Tombstones} of its {Nodes} nodes are tombstones, but compacting them away needs about {Needed} bytes " +
                    "beside the index, and the collections already hold {Counted} of the {Budget} bytes of --memory-budget-bytes: not compacted",
                    _name, nodes - live, nodes, needed, counted, budget.BudgetBytes);
                return;
            }
            reserved = needed;
        }

        _logger.LogInformation("Collection {Name}: compacting: {Tombstones} of its {Nodes} nodes are tombstones; copying its {Live} live points " +
            "into a new index while searches and writes go on", _name, nodes - live, nodes, live);
        long started = Stopwatch.GetTimestamp();
        long from = _applied.Read().Position;
        HnswIndex? rebuilt = null;
        long records = 0, pausedRecords, pauseStarted;
        IndexGeneration? previous = null;
        try
        {
            rebuilt = await CopyLivePointsAsync(old, stop).ConfigureAwait(false);
            if (AfterCopy is { } afterCopy) await afterCopy().ConfigureAwait(false);
            // Catch up without pausing while the writes made meanwhile are many, so that the pause, whose length is what
            // the writes waiting in it pay, only has the last few to apply.
            for (int round = 0; round < MaxCatchUpRounds; round++)
            {
                long to = _applied.Read().Position;
                long caughtUp = await ApplyLogRangeAsync(rebuilt, from, to, stop).ConfigureAwait(false);
                records += caughtUp;
                from = to;
                if (caughtUp <= FewEnoughToPauseFor) break;
            }
            LinkFieldsLinkedMeanwhile(old, rebuilt);
            await _writes.PauseAppliesAsync().ConfigureAwait(false);
            try
            {
                pauseStarted = Stopwatch.GetTimestamp();
                LinkFieldsLinkedMeanwhile(old, rebuilt);
                pausedRecords = await ApplyLogRangeAsync(rebuilt, from, _applied.Read().Position, stop).ConfigureAwait(false);
                // The last moment a cancellation is honoured: after the switch the new index is the collection's.
                stop.ThrowIfCancellationRequested();
                previous = _index.Replace(rebuilt);
            }
            finally
            {
                _writes.ResumeApplies();
            }
            previous.Retire();
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && previous is null)
        {
            // Every write went to the old index too (the copy and the catch-up only ever wrote to the new one), so the
            // old index is whole; the copy threads and the catch-up have ended before the exception got here.
            rebuilt?.Dispose();
            Interlocked.Increment(ref _compactionsCancelled);
            _logger.LogInformation(
                "Collection {Name}: compaction cancelled after {Seconds:F1} s ({Reason}); the new index was discarded, and the collection's " +
                "index ({Nodes} nodes when the compaction began, tombstones included) is unchanged",
                _name, Stopwatch.GetElapsedTime(started).TotalSeconds, _compactionStopReason, nodes);
            return;
        }
        catch
        {
            // Once the new index is in place (the applier's resume failed after the switch) it is the collection's.
            if (previous is null) rebuilt?.Dispose();
            else previous.Retire();
            throw;
        }
        finally
        {
            // In place, the new index stays counted until a measurement includes it; discarded, it is uncounted at once.
            _compactionBudget?.Release(reserved, applied: previous is not null);
        }
        records += pausedRecords;
        Interlocked.Increment(ref _compactions);
        Interlocked.Add(ref _compactionReappliedRecords, records);
        _logger.LogInformation(
            "Collection {Name}: compacted {Nodes} nodes to {Live} live points in {Seconds:F1} s; {Records} log records applied meanwhile " +
            "were applied to the new index, the last {PausedRecords} with writes paused for {PauseMs:F0} ms",
            _name, nodes, rebuilt.Count, Stopwatch.GetElapsedTime(started).TotalSeconds, records, pausedRecords,
            Stopwatch.GetElapsedTime(pauseStarted).TotalMilliseconds);
    }

    /// <summary>
    /// Links in the new index the keyword fields linked in the old one since the copy began (Collection.LinkFieldAsync),
    /// so that the switch never drops one: before the pause, where it may take a while; in the pause only for a field
    /// linked in the moments between.
    /// </summary>
    private void LinkFieldsLinkedMeanwhile(HnswIndex old, HnswIndex rebuilt)
    {
        foreach (string field in old.LinkedFields)
            if (!rebuilt.LinkedFields.Contains(field)) rebuilt.LinkValues(field, _durability.CompactionThreads);
    }

    /// <summary>
    /// A new index with the same parameters, holding the live points of <paramref name="old"/> (each as it is when
    /// copied), built by <see cref="DurabilityOptions.CompactionThreads"/> threads (half the cores by default) so that
    /// searches keep the rest. Cancelled by <paramref name="stop"/>, it returns
    /// (throws) only once every copy thread has ended, with the new index disposed.
    /// </summary>
    /// <remarks>
    /// The copy runs on threads of its own, not the thread pool's: a copy holding a pool thread for its whole duration
    /// starved request handling on a 2-core machine (Fashion-MNIST, 86,000 nodes, 25 s: searches stalled up to 0.9 s
    /// while the pool grew). Each thread copies every n-th batch of ids.
    /// </remarks>
    private async Task<HnswIndex> CopyLivePointsAsync(HnswIndex old, CancellationToken stop)
    {
        var rebuilt = new HnswIndex(new HnswOptions
        {
            Dimension = old.Dimension, Metric = old.Metric, M = old.M, EfConstruction = old.EfConstruction,
            Quantization = old.Quantization, RandomSeed = old.RandomSeed, LinkedFields = old.LinkedFields,
        }) { SourcePosition = old.SourcePosition }; // the same points: the next checkpoint keeps where they came from
        try
        {
            long[] ids = old.GetIds();
            int threads = _durability.CompactionThreads;
            var copiers = new Task[threads];
            for (int t = 0; t < threads; t++)
            {
                int first = t;
                copiers[t] = Task.Factory.StartNew(() => CopyBatches(old, rebuilt, ids, first, threads, stop), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            // WhenAll waits for every thread, also when one of them was cancelled or failed: none may still be writing to
            // the new index when it is disposed below.
            await Task.WhenAll(copiers).ConfigureAwait(false);
            return rebuilt;
        }
        catch
        {
            rebuilt.Dispose();
            throw;
        }
    }

    /// <summary>Copies batches <paramref name="first"/>, <paramref name="first"/> + <paramref name="stride"/>, … of
    /// <paramref name="ids"/> from <paramref name="old"/> into <paramref name="rebuilt"/>, on the calling thread; stops
    /// (throws) within a point of <paramref name="stop"/> being cancelled.</summary>
    private void CopyBatches(HnswIndex old, HnswIndex rebuilt, long[] ids, int first, int stride, CancellationToken stop)
    {
        int dimension = old.Dimension;
        var vectors = new float[CompactionBatch * dimension];
        var batchIds = new long[CompactionBatch];
        var labels = new int[]?[CompactionBatch];
        var payloads = new Payload?[CompactionBatch];
        for (int start = first * CompactionBatch; start < ids.Length; start += stride * CompactionBatch)
        {
            BeforeCopyBatch?.Invoke(stop);
            stop.ThrowIfCancellationRequested();
            int count = 0;
            bool anyLabels = false, anyPayloads = false;
            for (int i = start; i < Math.Min(start + CompactionBatch, ids.Length); i++)
            {
                // Deleted since GetIds: the log range applied afterwards deletes it anyway.
                if (!old.TryGet(ids[i], vectors.AsSpan(count * dimension, dimension), out int[] pointLabels)) continue;
                batchIds[count] = ids[i];
                labels[count] = pointLabels.Length == 0 ? null : pointLabels;
                anyLabels |= pointLabels.Length > 0;
                payloads[count] = old.TryGetPayload(ids[i], out Payload payload) && payload.Count > 0 ? payload : null;
                anyPayloads |= payloads[count] is not null;
                count++;
            }
            // Copied out of an index: valid vectors, so the unchecked entry.
            rebuilt.UpsertManyUnchecked(vectors.AsMemory(0, count * dimension), batchIds.AsMemory(0, count),
                anyLabels ? (IReadOnlyList<int[]?>)new ArraySegment<int[]?>(labels, 0, count) : null,
                anyPayloads ? (IReadOnlyList<Payload?>)new ArraySegment<Payload?>(payloads, 0, count) : null, threads: 1, cancellationToken: stop);
        }
    }

    /// <summary>Once they are committed (relaxed durability applies writes before their commit), applies the log's records
    /// in [<paramref name="from"/>, <paramref name="to"/>) to <paramref name="index"/> on a thread of its own; returns how
    /// many there were. Cancelled by <paramref name="stop"/>, it stops between two records.</summary>
    private async Task<long> ApplyLogRangeAsync(HnswIndex index, long from, long to, CancellationToken stop)
    {
        if (from == to) return 0;
        await _log.WaitUntilDurableAsync(to, stop).ConfigureAwait(false);
        return await Task.Factory.StartNew(() => ApplyLogRange(index, from, to, stop), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
    }

    private long ApplyLogRange(HnswIndex index, long from, long to, CancellationToken stop)
    {
        var applier = new LogRecordApplier(index);
        long records = 0;
        _log.ReadCommitted(from, to, (record, _) =>
        {
            stop.ThrowIfCancellationRequested();
            records++;
            applier.Apply(record);
        });
        applier.Flush();
        return records;
    }
}
