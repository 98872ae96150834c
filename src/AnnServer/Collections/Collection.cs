using System.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Snapshots;

namespace AnnServer.Collections;

/// <summary>
/// One named index and its folder in the data directory.
/// <para>
/// Concurrency: searches and reads go straight to the <see cref="HnswIndex"/>, which allows them alongside writes.
/// Writes (upsert, delete) and checkpoints take <see cref="_writeLock"/> one at a time, so that the order in which
/// they are applied is the order in which the write-ahead log (issue 5) will record them, and a snapshot sees no
/// half-applied batch.
/// </para>
/// <para>
/// Lifetime: callers hold the collection through a <see cref="CollectionLease"/> while they use it. A drop marks it
/// dropped (new leases fail, waiting writes give up) and the index is disposed when the last lease is returned, so a
/// search that started before the drop finishes on a live index.
/// </para>
/// </summary>
public sealed class Collection
{
    /// <summary>Batches at least this large, with distinct ids, are inserted over all cores by UpsertMany.</summary>
    private const int ParallelUpsertThreshold = 256;

    private readonly HnswIndex _index;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly DataDirectory _dataDirectory;

    private long _snapshotLogPosition;
    private long _snapshotBytes;
    private DateTimeOffset _snapshotTime;
    private long _writesSinceSnapshot;

    private long _searches;
    private long _upserted;
    private long _deleted;

    private int _leases;
    private volatile bool _dropped;
    private int _disposed;

    internal Collection(string name, string folder, DataDirectory dataDirectory, HnswIndex index, long snapshotLogPosition)
    {
        Name = name;
        Folder = folder;
        _dataDirectory = dataDirectory;
        _index = index;
        Dimension = index.Dimension;
        Metric = index.Metric;
        _snapshotLogPosition = snapshotLogPosition;
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
    public int Count => _index.Count;

    /// <summary>Queries answered since the collection was loaded (a batch counts each query).</summary>
    public long SearchCount => Interlocked.Read(ref _searches);

    /// <summary>Points inserted or replaced since the collection was loaded.</summary>
    public long UpsertedCount => Interlocked.Read(ref _upserted);

    /// <summary>Points deleted since the collection was loaded.</summary>
    public long DeletedCount => Interlocked.Read(ref _deleted);

    public long MemoryBytes => _index.MemoryBytes;

    /// <summary>Writes applied since the last snapshot; without a log they are lost if the process dies.</summary>
    public bool HasUnsavedWrites => Interlocked.Read(ref _writesSinceSnapshot) > 0;

    /// <summary>Approximate top-k of one query; writes at most k hits to <paramref name="results"/> and returns how many.
    /// The query must already be validated (dimension, finite); k and ef must satisfy 1 ≤ k ≤ ef.</summary>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter)
    {
        Interlocked.Increment(ref _searches);
        return _index.Search(query, k, ef, results, filter);
    }

    /// <summary>Copies the stored vector of <paramref name="id"/> into <paramref name="vector"/> (length = dimension).</summary>
    public bool TryGet(long id, Span<float> vector, out int[] labels) => _index.TryGet(id, vector, out labels);

    /// <summary>Applies a validated batch whole. Cancellation is honoured until the batch starts being applied, not after,
    /// so a batch is never applied in part.</summary>
    public async ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Dimension != Dimension)
            throw new ArgumentException($"batch has dimension {batch.Dimension}, collection '{Name}' has {Dimension}", nameof(batch));
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDropped();
            cancellationToken.ThrowIfCancellationRequested();
            int replaced = batch.Count >= ParallelUpsertThreshold && AllDistinct(batch.Ids)
                ? UpsertInParallel(batch)
                : UpsertOneByOne(batch);
            Interlocked.Add(ref _upserted, batch.Count);
            Interlocked.Increment(ref _writesSinceSnapshot);
            return new UpsertResult(batch.Count - replaced, replaced, LogPosition);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Deletes the ids that exist. Unknown ids are counted, not an error.</summary>
    public async ValueTask<DeleteResult> DeleteAsync(ReadOnlyMemory<long> ids, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDropped();
            cancellationToken.ThrowIfCancellationRequested();
            int deleted = 0;
            foreach (long id in ids.Span)
                if (_index.Delete(id)) deleted++;
            Interlocked.Add(ref _deleted, deleted);
            if (deleted > 0) Interlocked.Increment(ref _writesSinceSnapshot);
            return new DeleteResult(deleted, ids.Length - deleted, LogPosition);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Saves a snapshot now, atomically replacing the previous one. Writes wait meanwhile; searches go on.</summary>
    public async ValueTask<(CollectionStatus Status, TimeSpan Duration)> CheckpointAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfDropped();
            long start = Stopwatch.GetTimestamp();
            string path = DataDirectory.SnapshotPath(Folder);
            long position = LogPosition;
            Snapshot.Save(_index, path, position);
            TimeSpan duration = Stopwatch.GetElapsedTime(start);
            _snapshotLogPosition = position;
            _snapshotBytes = new FileInfo(path).Length;
            _snapshotTime = DateTimeOffset.UtcNow;
            Interlocked.Exchange(ref _writesSinceSnapshot, 0);
            return (Status(), duration);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Durable-log position of the last write. Until the write-ahead log is wired in (issue 5) there is no log,
    /// and this stays at the position of the snapshot the collection was loaded from.</summary>
    public long LogPosition => _snapshotLogPosition;

    public CollectionStatus Status() => new(
        Name, Dimension, Metric, _index.M, _index.EfConstruction, _index.Count, _index.NodeCount, _index.MemoryBytes,
        _snapshotLogPosition, LogPosition, _snapshotBytes, _snapshotTime, Interlocked.Read(ref _writesSinceSnapshot),
        _index.Quantization);

    // ---- lifetime --------------------------------------------------------------------------------------------

    /// <summary>Takes a lease; false when the collection has been dropped.</summary>
    internal bool TryEnter()
    {
        Interlocked.Increment(ref _leases);
        if (!_dropped) return true;
        Exit();
        return false;
    }

    internal void Exit()
    {
        if (Interlocked.Decrement(ref _leases) == 0 && _dropped)
            DisposeIndexOnce();
    }

    /// <summary>Marks the collection dropped and deletes its folder, after any write or checkpoint in progress.
    /// The index is disposed when the last lease is returned.</summary>
    internal async Task DropAsync()
    {
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _dropped = true;
            _dataDirectory.DeleteCollectionFolder(Folder);
        }
        finally
        {
            _writeLock.Release();
        }
        if (Volatile.Read(ref _leases) == 0)
            DisposeIndexOnce();
    }

    /// <summary>Disposes the index at server shutdown, when no request can hold a lease any more.</summary>
    internal void DisposeAtShutdown() => DisposeIndexOnce();

    private void DisposeIndexOnce()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
            _index.Dispose();
    }

    private void ThrowIfDropped()
    {
        if (_dropped) throw new CollectionNotFoundException(Name);
    }

    private int UpsertOneByOne(UpsertBatch batch)
    {
        int replaced = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (_index.Upsert(batch.Ids[i], batch.Vector(i), batch.Labels[i]))
                replaced++;
        }
        return replaced;
    }

    private int UpsertInParallel(UpsertBatch batch)
    {
        int replaced = 0;
        foreach (long id in batch.Ids)
            if (_index.Contains(id)) replaced++;
        bool anyLabels = false;
        foreach (int[]? labels in batch.Labels)
            if (labels is not null) { anyLabels = true; break; }
        _index.UpsertMany(batch.Vectors, batch.Ids, anyLabels ? batch.Labels : null);
        return replaced;
    }

    private static bool AllDistinct(long[] ids)
    {
        var seen = new HashSet<long>(ids.Length);
        foreach (long id in ids)
            if (!seen.Add(id)) return false;
        return true;
    }
}
