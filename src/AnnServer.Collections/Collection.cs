using AnnServer.Core;
using AnnServer.Storage;
using Microsoft.Extensions.Logging;

namespace AnnServer.Collections;

/// <summary>
/// One named index, its write-ahead log and its folder in the data directory (<see cref="DataDirectory"/>):
/// <c>snapshot.snap</c>, the last checkpoint, which records the log position it covers, and <c>log/</c>, the
/// <see cref="CollectionLog"/> holding every write since (and a little before) that position.
/// <para>
/// Writes (Collection.Writes.cs): a request becomes a log record, is enqueued under <see cref="_writeLock"/> (which
/// fixes its place in the log), waits for a commit outside the lock (so concurrent writers share commits), and is
/// then applied to the index in log order by <see cref="ApplyDurableWrites"/>, before it is acknowledged.
/// </para>
/// <para>
/// Checkpoints (Collection.Checkpoints.cs) save a snapshot covering position P, everything applied so far, while
/// searches and writes go on, then truncate the log before P. Recovery (Collection.Recovery.cs) loads the snapshot
/// and replays the log from P.
/// </para>
/// <para>
/// Lifetime: callers hold the collection through a <see cref="CollectionLease"/> while they use it. A drop marks it
/// closed (new leases fail, waiting writes give up), closes the log, and the index is disposed when the last lease is
/// returned, so a search that started before the drop finishes on a live index.
/// </para>
/// </summary>
public sealed partial class Collection
{
    // Replaced only by a compaction, with the applier paused and under the checkpoint lock (Collection.Compaction.cs):
    // the applier and checkpoints read it through Index; every other reader enters the generation (ReadIndex).
    private IndexGeneration _generation;
    private readonly CollectionLog _log;
    private readonly DurabilityOptions _durability;
    private readonly DataDirectory _dataDirectory;
    private readonly ILogger _logger;

    private long _searches;
    private long _upserted;
    private long _deleted;

    private int _leases;
    private volatile bool _closed;
    private int _indexDisposed;
    private int _logClosed;

    private Collection(string name, string folder, DataDirectory dataDirectory, HnswIndex index, long snapshotLogPosition,
        CollectionLog log, DurabilityOptions durability, ILogger logger, bool followsStream, ulong snapshotSequence,
        MemoryBudget? compactionBudget)
    {
        _compactionBudget = compactionBudget;
        _followsStream = followsStream;
        _appliedSequence = snapshotSequence;
        Name = name;
        Folder = folder;
        _dataDirectory = dataDirectory;
        _generation = new IndexGeneration(index);
        _log = log;
        _durability = durability;
        _logger = logger;
        Dimension = index.Dimension;
        Metric = index.Metric;
        _snapshotLogPosition = snapshotLogPosition;
        _appliedPosition = snapshotLogPosition;
        var snapshot = new FileInfo(DataDirectory.SnapshotPath(folder));
        _snapshotBytes = snapshot.Exists ? snapshot.Length : 0;
        _snapshotTime = snapshot.Exists ? snapshot.LastWriteTimeUtc : DateTimeOffset.UtcNow;
    }

    public string Name { get; }

    /// <summary>The collection's folder in the data directory.</summary>
    public string Folder { get; }

    public int Dimension { get; }
    public DistanceMetric Metric { get; }

    /// <summary>Live points.</summary>
    public int Count => ReadIndex(static index => index.Count);

    /// <summary>Graph nodes: live points and tombstones (deleted or replaced points, kept until a compaction).</summary>
    public int NodeCount => ReadIndex(static index => index.NodeCount);

    /// <summary>Queries answered since the collection was loaded (a batch counts each query).</summary>
    public long SearchCount => Interlocked.Read(ref _searches);

    /// <summary>Points inserted or replaced by requests since the collection was loaded (replayed writes not counted).</summary>
    public long UpsertedCount => Interlocked.Read(ref _upserted);

    /// <summary>Points deleted by requests since the collection was loaded (replayed writes not counted).</summary>
    public long DeletedCount => Interlocked.Read(ref _deleted);

    public long MemoryBytes => ReadIndex(static index => index.MemoryBytes);

    /// <summary>Bytes of the collection's log folder on disk.</summary>
    public long LogBytesOnDisk => _log.SizeOnDisk;

    /// <summary>Log records appended and log commits made since the collection was loaded: appends / commits is the
    /// mean number of writes that shared one commit.</summary>
    public (long Appends, long Commits) LogCounts => (_log.AppendCount, _log.CommitCount);

    /// <summary>Time the log has spent committing since the collection was loaded.</summary>
    public TimeSpan LogCommitTime => _log.CommitTime;

    /// <summary>What the log replay did when the collection was loaded (records, speed, a dropped damaged tail).</summary>
    public ReplayResult? Recovery { get; private set; }

    /// <summary>Approximate top-k of one query; writes at most k hits to <paramref name="results"/> and returns how many.
    /// The query must already be validated (dimension, finite); k and ef must satisfy 1 ≤ k ≤ ef.</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter)
    {
        Interlocked.Increment(ref _searches);
        IndexGeneration generation = EnterIndex();
        try
        {
            return generation.Index.Search(query, k, ef, results, filter);
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>Copies the stored vector of <paramref name="id"/> into <paramref name="vector"/> (length = dimension).</summary>
    public bool TryGet(long id, Span<float> vector, out int[] labels)
    {
        IndexGeneration generation = EnterIndex();
        try
        {
            return generation.Index.TryGet(id, vector, out labels);
        }
        finally
        {
            generation.Exit();
        }
    }

    public CollectionStatus Status()
    {
        IndexGeneration generation = EnterIndex();
        try
        {
            HnswIndex index = generation.Index;
            lock (_appliedLock)
            {
                return new CollectionStatus(
                    Name, Dimension, Metric, index.M, index.EfConstruction, index.Count, index.NodeCount, index.MemoryBytes,
                    _snapshotLogPosition, _appliedPosition, _snapshotBytes, _snapshotTime, _appliedWrites - _writesAtSnapshot,
                    index.Quantization);
            }
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>The index the applier and checkpoints work on: nothing replaces it while they run.</summary>
    private HnswIndex Index => Volatile.Read(ref _generation).Index;

    private IndexGeneration EnterIndex()
    {
        while (true)
        {
            IndexGeneration generation = Volatile.Read(ref _generation);
            if (generation.TryEnter()) return generation;
        }
    }

    private T ReadIndex<T>(Func<HnswIndex, T> read)
    {
        IndexGeneration generation = EnterIndex();
        try
        {
            return read(generation.Index);
        }
        finally
        {
            generation.Exit();
        }
    }

    // ---- lifetime --------------------------------------------------------------------------------------------

    /// <summary>Takes a lease; false when the collection has been dropped.</summary>
    internal bool TryEnter()
    {
        Interlocked.Increment(ref _leases);
        if (!_closed) return true;
        Exit();
        return false;
    }

    internal void Exit()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && _closed)
            DisposeIndexOnce();
    }

    /// <summary>
    /// Closes the collection, then deletes its folder (snapshot and log) by one rename and a delete, so a crash leaves
    /// the whole collection or none of it. Writes already enqueued are committed by the log's close and applied; later
    /// ones get NOT_FOUND. A compaction in progress is cancelled; the rest of a checkpoint in progress finishes first.
    /// The index is disposed when the last lease is returned.
    /// </summary>
    internal async Task DropAsync()
    {
        await CloseLogAsync("the collection is being dropped").ConfigureAwait(false);
        _dataDirectory.DeleteCollectionFolder(Folder);
        if (Volatile.Read(ref _leases) == 0)
            DisposeIndexOnce();
    }

    /// <summary>Closes the log (committing what was enqueued) and disposes the index, at server shutdown, when no
    /// request can hold a lease any more.</summary>
    internal async ValueTask CloseAtShutdownAsync()
    {
        await CloseLogAsync("the server is shutting down").ConfigureAwait(false);
        DisposeIndexOnce();
    }

    /// <summary>
    /// Stops writes and checkpoints, then closes the log. Taking the write lock means no request is between its enqueue
    /// and its place in the queue; taking the checkpoint lock means no snapshot is being written. Both are released at
    /// once so that whoever waits on them sees <see cref="_closed"/> and gives up. A compaction in progress is cancelled
    /// (<paramref name="reason"/> goes to its log line) rather than waited for.
    /// </summary>
    private async Task CloseLogAsync(string reason)
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
        StopCompacting(reason);
        await _checkpointLock.WaitAsync().ConfigureAwait(false);
        _checkpointLock.Release();
        if (Interlocked.Exchange(ref _logClosed, 1) == 0)
            await _log.DisposeAsync().ConfigureAwait(false);
    }

    private void DisposeIndexOnce()
    {
        if (Interlocked.Exchange(ref _indexDisposed, 1) == 0)
            Volatile.Read(ref _generation).Retire();
    }

    private void ThrowIfClosed()
    {
        if (_closed) throw new CollectionNotFoundException(Name);
    }
}
