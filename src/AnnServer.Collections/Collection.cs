using AnnServer.Core;
using AnnServer.Core.Filtering;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// One named index, its write-ahead log and its folder in the data directory (<see cref="DataDirectory"/>):
/// <c>snapshot.snap</c>, the last checkpoint, which records the log position it covers, and <c>log/</c>, the
/// <see cref="CollectionLog"/> holding every write since (and a little before) that position.
/// <para>
/// The collection is a front: it answers searches and reads, holds the leases, and composes the parts that do the
/// rest, each owning its state and at most one lock:
/// </para>
/// <list type="bullet">
/// <item><see cref="IndexSlot"/>: the index searches read, replaced only by a compaction; no lock.</item>
/// <item><see cref="WritePipeline"/> (Writes/): a request becomes a log record, is enqueued under the write lock (which
/// fixes its place in the log), waits for a commit outside the lock (so concurrent writers share commits), and is then
/// applied to the index in log order, before it is acknowledged. Its queue (<see cref="PendingWriteQueue"/>) and what
/// it has applied (<see cref="AppliedProgress"/>) each have a lock of their own.</item>
/// <item><see cref="Checkpointer"/> (Checkpoints/): saves a snapshot covering position P, everything applied so far,
/// while searches and writes go on, then truncates the log before P; the checkpoint lock.</item>
/// <item><see cref="Compactor"/> (Compaction/): the first step of a checkpoint once tombstones are many; runs under the
/// checkpoint lock.</item>
/// <item><see cref="LogReplayer"/> (Recovery/): at <see cref="Open"/>, replays the log from P onto the index the caller
/// loaded from the snapshot.</item>
/// </list>
/// <para>
/// A cluster replica's collection takes its writes from a stream instead of requests, and reports their stream
/// sequences to an <see cref="IStreamSequenceObserver"/>, which the cluster implements.
/// </para>
/// <para>
/// Lifetime: callers hold the collection through a <see cref="CollectionLease"/> while they use it. A drop marks it
/// closed (new leases fail, waiting writes give up), closes the log, and the index is disposed when the last lease is
/// returned, so a search that started before the drop finishes on a live index.
/// </para>
/// </summary>
public sealed partial class Collection
{
    private readonly IndexSlot _index;
    private readonly CollectionLog _log;
    private readonly FolderLock _logLock;
    private readonly DataDirectory _dataDirectory;
    private readonly AppliedProgress _applied;
    private readonly WritePipeline _writes;
    private readonly Compactor _compactor;
    private readonly Checkpointer _checkpoints;
    private readonly IStreamSequenceObserver? _streamSequences;

    // Set while the log tail is inserted into the graph after a restart (reads go through its tail, writes are refused);
    // left set when that replay failed or was stopped by a close, so that reads stay exact.
    private volatile BackgroundReplay? _replay;
    private Exception? _replayFailure;

    private long _searches;

    private int _leases;
    private int _indexDisposed;
    private int _logClosed;

    private Collection(string name, string folder, DataDirectory dataDirectory, HnswIndex index, long snapshotLogPosition,
        CollectionLog log, FolderLock logLock, DurabilityOptions durability, ILogger logger, IStreamSequenceObserver? streamSequences,
        ulong snapshotSequence, MemoryBudget? compactionBudget, IdSetPool? idSets, IIdSetSource? idSetSource)
    {
        _logLock = logLock;
        _logger = logger;
        _linkThreads = durability.CompactionThreads;
        Name = name;
        Folder = folder;
        Dimension = index.Dimension;
        Metric = index.Metric;
        _dataDirectory = dataDirectory;
        _log = log;
        _streamSequences = streamSequences;
        _index = new IndexSlot(index);
        _applied = new AppliedProgress(snapshotLogPosition, snapshotSequence);
        _writes = new WritePipeline(name, Dimension, log, durability, _index, _applied, streamSequences,
            afterApply: CheckpointIfDue, logger);
        _compactor = new Compactor(name, log, durability, _index, _applied, _writes, compactionBudget, logger);
        _checkpoints = new Checkpointer(name, folder, snapshotLogPosition, log, durability, _index, _applied, _writes, _compactor,
            streamSequences, TryAcquire, logger);
        IdSets = new CollectionIdSets(name, idSets ?? new IdSetPool(), () => _index.Index.NodeCount);
        _idSetSource = idSetSource ?? IdSets;
    }

    /// <summary>
    /// Opens (or creates) the log in <paramref name="folder"/>, replays it onto <paramref name="index"/> from
    /// <paramref name="snapshotLogPosition"/> (0 = the log's begin) and returns the collection, ready for writes.
    /// A damaged log tail is dropped and reported (see <see cref="CollectionLog.Replay"/>). On failure the log is
    /// closed; the index is the caller's to dispose.
    /// </summary>
    /// <exception cref="CollectionLogCorruptException">the log cannot be recovered.</exception>
    /// <exception cref="InvalidOperationException">the log does not fit the snapshot (truncated past it, or behind it),
    /// or holds a record of another dimension.</exception>
    /// <param name="streamSequences">a cluster replica's collection: it takes its writes from a stream
    /// (<see cref="EnqueueStreamRecordAsync"/>) and reports their sequences to this hook, one per opened collection;
    /// null for a collection written by requests.</param>
    /// <exception cref="InvalidDataException">what <paramref name="streamSequences"/> keeps beside the snapshot is
    /// damaged or does not belong to it.</exception>
    /// <param name="compactionBudget">the memory budget a compaction reserves its new index in (<see cref="Compactor"/>);
    /// null: none.</param>
    /// <param name="idSets">the server's stored id sets share this pool's limits and budget; null: one of its own.</param>
    /// <param name="idSetSource">where filters find stored id sets instead of <see cref="IdSets"/> (a cluster replica:
    /// the cluster's sets); null: <see cref="IdSets"/>.</param>
    public static Collection Open(string name, string folder, DataDirectory dataDirectory, HnswIndex index,
        long snapshotLogPosition, DurabilityOptions durability, ILogger logger, IStreamSequenceObserver? streamSequences = null,
        MemoryBudget? compactionBudget = null, IdSetPool? idSets = null, IIdSetSource? idSetSource = null)
    {
        Checkpointer.RemoveInterrupted(folder, logger);
        ulong snapshotSequence = streamSequences?.SnapshotSequence(folder, snapshotLogPosition) ?? 0;
        // One writer per log, whoever opens it (a server, a cluster replica, a tool): held until the log is closed.
        FolderLock logLock = FolderLock.Acquire(DataDirectory.LogFolder(folder), recordHolder: false);
        CollectionLog log;
        try
        {
            log = CollectionLog.Open(DataDirectory.LogFolder(folder), durability.LogOptions());
        }
        catch
        {
            logLock.Dispose();
            throw;
        }
        try
        {
            var collection = new Collection(name, folder, dataDirectory, index, snapshotLogPosition, log, logLock, durability, logger,
                streamSequences, snapshotSequence, compactionBudget, idSets, idSetSource);
            LogTail tail = LogReplayer.ReadTail(log, index.Dimension, name, snapshotLogPosition, logger);
            collection.Recovery = tail.Read;
            // A replica's stream resumes from the last applied sequence, so a replica replays before it serves.
            if (streamSequences is null && durability.BackgroundReplayPoints > 0 && tail.Points >= durability.BackgroundReplayPoints)
                collection.ReplayInBackground(tail, index, durability.BeforeBackgroundReplayRecord, logger);
            else
                collection.Recovered(tail, LogReplayer.Apply(tail, index, name, logger));
            streamSequences?.Opened(collection, collection._applied.Read().StreamSequence);
            return collection;
        }
        catch
        {
            log.DisposeAsync().AsTask().GetAwaiter().GetResult();
            logLock.Dispose();
            throw;
        }
    }

    public string Name { get; }

    /// <summary>The collection's folder in the data directory.</summary>
    public string Folder { get; }

    public int Dimension { get; }
    public DistanceMetric Metric { get; }

    /// <summary>Live points (while the log replays, the count after it: see <see cref="IsReplaying"/>).</summary>
    public long Count => _replay is { } replay ? replay.Tail.FinalCount : _index.Read(static index => index.Count);

    /// <summary>Graph nodes: live points and tombstones (deleted or replaced points, kept until a compaction).</summary>
    public int NodeCount => _index.Read(static index => index.NodeCount);

    /// <summary>Queries answered since the collection was loaded (a batch counts each query).</summary>
    public long SearchCount => Interlocked.Read(ref _searches);

    /// <summary>Points inserted or replaced by requests since the collection was loaded (replayed writes not counted).</summary>
    public long UpsertedCount => _writes.UpsertedCount;

    /// <summary>Points deleted by requests since the collection was loaded (replayed writes not counted).</summary>
    public long DeletedCount => _writes.DeletedCount;

    public long MemoryBytes => _index.Read(static index => index.MemoryBytes);

    /// <summary>Bytes of the collection's log folder on disk.</summary>
    public long LogBytesOnDisk => _log.SizeOnDisk;

    /// <summary>Log records appended and log commits made since the collection was loaded: appends / commits is the
    /// mean number of writes that shared one commit.</summary>
    public (long Appends, long Commits) LogCounts => (_log.AppendCount, _log.CommitCount);

    /// <summary>Time the log has spent committing since the collection was loaded.</summary>
    public TimeSpan LogCommitTime => _log.CommitTime;

    /// <summary>Log position up to which the log is committed (on disk).</summary>
    public long CommittedLogPosition => _log.CommittedPosition;

    /// <summary>What the log replay did when the collection was loaded (records, time, a dropped damaged tail); its
    /// elapsed time is the read's until a replay in the background has ended.</summary>
    public ReplayResult? Recovery { get; private set; }

    /// <summary>True while the log tail is being inserted into the graph after a restart: searches and reads are
    /// answered (exactly for the points not inserted yet), writes and checkpoints are refused.</summary>
    public bool IsReplaying => _replay is not null;

    /// <summary>Writes applied since the last snapshot; they are in the log, and replayed at the next start.</summary>
    public bool HasUnsavedWrites => _checkpoints.HasUnsavedWrites;

    /// <summary>Compactions since the collection was loaded.</summary>
    public long Compactions => _compactor.Compactions;

    /// <summary>Log records that were applied while a compaction copied the index, and applied to the copy after it.</summary>
    public long CompactionReappliedRecords => _compactor.CompactionReappliedRecords;

    /// <summary>Compactions cancelled by a drop, a close or a server shutdown before the new index took the old one's place.</summary>
    public long CompactionsCancelled => _compactor.CompactionsCancelled;

    /// <summary>Compactions put off because the new index would not have fitted beside the old one, in memory or in the
    /// memory budget.</summary>
    public long CompactionsSkippedForMemory => _compactor.CompactionsSkippedForMemory;

    /// <summary>The compaction, for tests that hold or steer it.</summary>
    internal Compactor Compaction => _compactor;

    /// <summary>The index searches read now, for tests that look inside it.</summary>
    internal HnswIndex CurrentIndex => _index.Index;

    /// <summary>Approximate top-k of one query; writes at most k hits to <paramref name="results"/> and returns how many.
    /// The query must already be validated (dimension, finite) and k, ef satisfy 1 ≤ k ≤ ef ≤ <see cref="HnswIndex.MaxEf"/>:
    /// the server's edge checked them, so the index only asserts them. <paramref name="quantized"/> says how a quantized
    /// index re-ranks (<see cref="QuantizedSearchOptions"/>).</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter,
        QuantizedSearchOptions quantized = default)
    {
        Interlocked.Increment(ref _searches);
        filter = WithIdSets(filter);
        IndexGeneration generation = _index.Enter();
        try
        {
            if (_replay is { } replay)
            {
                // The tail's exact scan knows labels and ids, not payloads: a payload filter would be answered wrong.
                if (filter?.Where is not null) throw ReplayingRefusal(replay, "searches with a filter expression are");
                return replay.Tail.Search(generation.Index, query, k, ef, results, filter, quantized);
            }
            return generation.Index.SearchUnchecked(query, k, ef, results, filter, quantized);
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>Copies the stored vector of <paramref name="id"/> into <paramref name="vector"/> (length = dimension).</summary>
    public bool TryGet(long id, Span<float> vector, out int[] labels)
    {
        IndexGeneration generation = _index.Enter();
        try
        {
            if (_replay is { } replay && replay.Tail.TryGet(id, vector, out labels) is { } fromTail) return fromTail;
            return generation.Index.TryGet(id, vector, out labels);
        }
        finally
        {
            generation.Exit();
        }
    }

    public CollectionStatus Status()
    {
        IndexGeneration generation = _index.Enter();
        try
        {
            HnswIndex index = generation.Index;
            SnapshotState snapshot = _checkpoints.SnapshotInPlace; // before the applied state: see SnapshotInPlace
            AppliedState applied = _applied.Read();
            ReplayingTail? replaying = _replay?.Tail;
            return new CollectionStatus(
                Name, Dimension, Metric, index.M, index.EfConstruction, replaying?.FinalCount ?? index.Count, index.NodeCount,
                index.MemoryBytes, snapshot.LogPosition, applied.Position, snapshot.Bytes, snapshot.Time, applied.Writes - snapshot.Writes,
                index.Quantization, State: replaying is null ? CollectionState.Ready : CollectionState.Replaying,
                ReplayPendingPoints: replaying?.PendingRows(replaying.AppliedRecords) ?? 0, SourcePosition: index.SourcePosition,
                LinkedFields: index.LinkedFields);
        }
        finally
        {
            generation.Exit();
        }
    }

    // ---- writes and checkpoints ------------------------------------------------------------------------------

    /// <summary>Applies a validated batch whole, after its log record is durable. Cancellation is honoured until the
    /// batch is written to the log, not after: from then on it will be applied (and replayed after a crash).</summary>
    public ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken cancellationToken)
    {
        ThrowIfReplaying("writes are");
        return _writes.UpsertAsync(batch, cancellationToken);
    }

    /// <summary>Deletes the ids that exist, after the delete's log record is durable. Unknown ids are counted, not an error.</summary>
    public ValueTask<DeleteResult> DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken)
    {
        ThrowIfReplaying("writes are");
        return _writes.DeleteAsync(ids, cancellationToken);
    }

    /// <summary>
    /// Saves a snapshot of everything applied so far, atomically replacing the previous one, then truncates the log
    /// before the position it covers (<see cref="Checkpointer.CheckpointAsync"/>); returns the status after it and how
    /// long it took. Searches and writes go on meanwhile; one checkpoint runs at a time.
    /// </summary>
    public async ValueTask<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(CancellationToken cancellationToken)
    {
        ThrowIfReplaying("a checkpoint is");
        TimeSpan duration = await _checkpoints.CheckpointAsync(cancellationToken).ConfigureAwait(false);
        return (Status(), duration);
    }

    // ---- a cluster replica's stream ----------------------------------------------------------------------------

    /// <summary>The hook this collection reports its stream records' sequences to (a cluster replica's, given to
    /// <see cref="Open"/>); null for a collection written by requests.</summary>
    public IStreamSequenceObserver? StreamSequences => _streamSequences;

    /// <summary>
    /// Appends a record of a stream, with its sequence, to the log and queues it to be applied, in stream order: the
    /// caller enqueues one record at a time, each after the last (the observer remembers which; this method does not
    /// skip a record delivered twice). Returns once the record has its place in the log; the returned task completes
    /// when it is applied.
    /// </summary>
    /// <exception cref="InvalidOperationException">the collection was not opened with a stream-sequence observer.</exception>
    /// <exception cref="ArgumentException">the record does not fit the collection (its dimension).</exception>
    public ValueTask<Task> EnqueueStreamRecordAsync(LogRecord record, ulong sequence, CancellationToken cancellationToken) =>
        _writes.EnqueueStreamRecordAsync(record, sequence, cancellationToken);

    // ---- lifetime --------------------------------------------------------------------------------------------

    /// <summary>A lease on the collection; null when it has been dropped or closed.</summary>
    public CollectionLease? TryAcquire() => TryEnter() ? new CollectionLease(this) : null;

    /// <summary>Takes a lease; false when the collection has been dropped.</summary>
    internal bool TryEnter()
    {
        Interlocked.Increment(ref _leases);
        if (!_writes.IsClosed) return true;
        Exit();
        return false;
    }

    internal void Exit()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && _writes.IsClosed)
            DisposeIndexOnce();
    }

    /// <summary>Cancels the compaction in progress, if any, and every later one (see <see cref="Compactor.Stop"/>).</summary>
    internal void StopCompacting(string reason) => _compactor.Stop(reason);

    /// <summary>
    /// Closes the collection, then deletes its folder (snapshot and log) by one rename and a delete, so a crash leaves
    /// the whole collection or none of it. Writes already enqueued are committed by the log's close and applied; later
    /// ones get NOT_FOUND. A compaction in progress is cancelled; the rest of a checkpoint in progress finishes first.
    /// The index is disposed when the last lease is returned. A collection in a registry is dropped through it
    /// (<see cref="CollectionRegistry.DropAsync"/>).
    /// </summary>
    public async Task DropAsync()
    {
        await CloseLogAsync("the collection is being dropped").ConfigureAwait(false);
        _dataDirectory.DeleteCollectionFolder(Folder);
        if (Volatile.Read(ref _leases) == 0)
            DisposeIndexOnce();
    }

    /// <summary>Closes the log (committing what was enqueued) and disposes the index, at server shutdown, when no
    /// request can hold a lease any more.</summary>
    public async ValueTask CloseAtShutdownAsync()
    {
        await CloseLogAsync("the server is shutting down").ConfigureAwait(false);
        DisposeIndexOnce();
    }

    /// <summary>
    /// Stops writes and checkpoints, then closes the log. Closing the write pipeline takes the write lock, so no request
    /// is between its enqueue and its place in the queue; waiting for the checkpoint lock means no snapshot is being
    /// written. Both are released at once so that whoever waits on them sees the collection closed and gives up. A
    /// compaction in progress is cancelled (<paramref name="reason"/> goes to its log line) rather than waited for.
    /// </summary>
    private async Task CloseLogAsync(string reason)
    {
        // First: the replay writes to the index, which the last lease returned after the close below disposes.
        if (_replay is { } replay) await replay.StopAsync().ConfigureAwait(false);
        await _writes.CloseAsync().ConfigureAwait(false);
        _compactor.Stop(reason);
        await _checkpoints.WaitForRunningAsync().ConfigureAwait(false);
        if (Interlocked.Exchange(ref _logClosed, 1) == 0)
        {
            try
            {
                await _log.DisposeAsync().ConfigureAwait(false);
            }
            finally
            {
                _logLock.Dispose();
            }
        }
    }

    /// <summary>Inserts the tail into the graph on the thread pool while the collection serves (see
    /// <see cref="BackgroundReplay"/>).</summary>
    private void ReplayInBackground(LogTail tail, HnswIndex index, Action<int>? beforeRecord, ILogger logger)
    {
        var replay = new BackgroundReplay(tail, index);
        _replay = replay; // before the start: a replay that ends at once must find itself in place to clear it
        replay.Start(Name,
            finished: elapsed =>
            {
                Recovered(tail, elapsed);
                _replay = null;
            },
            failed: e => Volatile.Write(ref _replayFailure, e),
            beforeRecord, logger);
    }

    /// <summary>Every record of the tail is in the index: a checkpoint from now on covers the log up to its end.</summary>
    private void Recovered(LogTail tail, TimeSpan applyTime)
    {
        _applied.Recovered(tail.Read.EndPosition, tail.Read.RecordsApplied, tail.LastStreamSequence);
        Recovery = tail.Read with { Elapsed = tail.Read.Elapsed + applyTime };
    }

    private void ThrowIfReplaying(string what)
    {
        if (_replay is not { } replay) return;
        if (Volatile.Read(ref _replayFailure) is { } failure)
            throw new CollectionUnavailableException(
                $"collection '{Name}' could not replay its write-ahead log after the restart ({failure.Message}); {what} refused until the " +
                "server restarts. Searches and reads are served", failure);
        ReplayingTail tail = replay.Tail;
        throw new CollectionUnavailableException(
            $"collection '{Name}' is inserting the writes of its write-ahead log into its graph after a restart " +
            $"({tail.TotalRecords - tail.AppliedRecords} of {tail.TotalRecords} log records left); {what} refused until it ends. " +
            "Searches and reads are served and see every acknowledged write. Retry later");
    }

    /// <summary>The applier's call after each write: the checkpointer starts one in the background when it is due.</summary>
    private void CheckpointIfDue() => _checkpoints.CheckpointIfDue();

    private void DisposeIndexOnce()
    {
        if (Interlocked.Exchange(ref _indexDisposed, 1) == 0)
        {
            IdSets.Clear();
            _index.RetireCurrent();
        }
    }
}
