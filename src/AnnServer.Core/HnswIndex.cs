using System.Diagnostics;
using AnnServer.Core.Distance;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core;

/// <summary>
/// A memory-resident HNSW index of float32 vectors with 64-bit ids, labels and deletes.
/// Thread-safe: any number of searches run while inserts and deletes go on; searches take no lock.
/// </summary>
/// <remarks>
/// Ids map to internal node numbers. An upsert of an existing id inserts a new node and tombstones the old one;
/// a delete tombstones. Tombstones keep routing searches (removing a node would cut paths through the graph)
/// and are dropped when the index is rebuilt.
/// <see cref="Dispose"/> frees the native memory and must not run while other calls on the index are in flight.
/// </remarks>
public sealed unsafe partial class HnswIndex : IDisposable
{
    private readonly GraphStorage _storage;
    private readonly HnswGraph _graph;
    private readonly SearchContextPool _contexts;
    private readonly int _randomSeed;

    // Guards the id map, the label counts and state changes of committed nodes; never taken by searches.
    private readonly object _mapLock = new();
    private readonly Dictionary<long, int> _nodeById = new();
    private readonly Dictionary<int, int> _liveCountByLabel = new();
    private int _liveCount;
    private long _searches;
    private long _searchDistanceComputations;

    public HnswIndex(HnswOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _storage = new GraphStorage(options.Dimension, options.Metric, options.M, options.EfConstruction, options.Quantization);
        _graph = HnswGraph.Create(_storage);
        _contexts = new SearchContextPool(options.Dimension);
        _randomSeed = options.RandomSeed;
    }

    public int Dimension => _storage.Dimension;
    public DistanceMetric Metric => _storage.Metric;
    public int M => _storage.M;
    public int EfConstruction => _storage.EfConstruction;
    public int RandomSeed => _randomSeed;
    public VectorQuantization Quantization => _storage.Quantization;

    /// <summary>Live points (not deleted).</summary>
    public int Count => Volatile.Read(ref _liveCount);

    /// <summary>Graph nodes, including the tombstones of deleted or replaced points.</summary>
    public int NodeCount => _storage.NodeCount;

    /// <summary>Bytes held by vectors, links, ids and labels (an estimate for the managed parts).</summary>
    public long MemoryBytes
    {
        get
        {
            long map;
            lock (_mapLock) map = (long)_nodeById.Count * 24;
            return _storage.MemoryBytes + map;
        }
    }

    /// <summary>Average distance computations per approximate search since the index was made (for benchmarks).</summary>
    public double DistanceComputationsPerSearch
    {
        get
        {
            long searches = Interlocked.Read(ref _searches);
            return searches == 0 ? 0 : (double)Interlocked.Read(ref _searchDistanceComputations) / searches;
        }
    }

    internal GraphStorage Storage => _storage;

    /// <summary>Inserts a point, or replaces the vector and labels of an existing id. Returns true when it replaced one.</summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component.</exception>
    public bool Upsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<int> labels = default)
    {
        ValidateVector(vector, nameof(vector));
        return UpsertUnchecked(id, vector, labels);
    }

    /// <summary>
    /// <see cref="Upsert"/> for a caller that validated the vector where it entered the process (the collections library:
    /// the server's request edge, a stream record, a log record): dimension and finiteness are asserted, not checked.
    /// </summary>
    internal bool UpsertUnchecked(long id, ReadOnlySpan<float> vector, ReadOnlySpan<int> labels = default)
    {
        AssertValidVector(vector);
        var context = _contexts.Rent();
        try
        {
            return Insert(id, vector, labels.IsEmpty ? null : labels.ToArray(), context);
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>
    /// Inserts many points over <paramref name="threads"/> threads (0 = all cores). <paramref name="vectors"/> is row-major,
    /// ids.Length × Dimension; <paramref name="labels"/> is null or one entry per id. Every row is validated before any is
    /// inserted. <paramref name="progress"/> receives the number of points inserted so far, now and then.
    /// </summary>
    public void UpsertMany(ReadOnlyMemory<float> vectors, ReadOnlyMemory<long> ids, IReadOnlyList<int[]?>? labels = null,
        int threads = 0, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        int count = ids.Length;
        if ((long)count * Dimension != vectors.Length)
            throw new ArgumentException($"vectors holds {vectors.Length} floats, but {count} ids of dimension {Dimension} need {(long)count * Dimension}", nameof(vectors));
        if (labels is not null && labels.Count != count)
            throw new ArgumentException($"labels has {labels.Count} entries for {count} ids", nameof(labels));
        for (int row = 0; row < count; row++)
        {
            if (!VectorMath.AllFinite(vectors.Span.Slice(row * Dimension, Dimension)))
                throw new ArgumentException($"vector of row {row} (id {ids.Span[row]}) has a NaN or infinite component", nameof(vectors));
        }
        UpsertManyUnchecked(vectors, ids, labels, threads, progress, cancellationToken);
    }

    /// <summary>
    /// <see cref="UpsertMany"/> for a caller that validated every row where it entered the process (see
    /// <see cref="UpsertUnchecked"/>): the shapes and the rows are asserted, not checked.
    /// </summary>
    internal void UpsertManyUnchecked(ReadOnlyMemory<float> vectors, ReadOnlyMemory<long> ids, IReadOnlyList<int[]?>? labels = null,
        int threads = 0, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        int count = ids.Length;
        AssertValidRows(vectors.Span, count, labels);

        _storage.EnsureCapacity(NodeCount + count);
        int done = 0;
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        // Points are handed out in insertion order, so the graph a build makes is the one a single-threaded build would
        // make up to thread interleaving; each worker keeps its own search context.
        int next = -1;
        Parallel.For(0, parallel.MaxDegreeOfParallelism, parallel, _ =>
        {
            var context = _contexts.Rent();
            try
            {
                int row;
                while ((row = Interlocked.Increment(ref next)) < count)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    Insert(ids.Span[row], vectors.Span.Slice(row * Dimension, Dimension), labels?[row], context);
                    int finished = Interlocked.Increment(ref done);
                    if (progress is not null && (finished & 1023) == 0) progress.Report(finished);
                }
            }
            finally
            {
                _contexts.Return(context);
            }
        });
        progress?.Report(count);
    }

    /// <summary>Deletes a point: it keeps routing searches but is never returned. Returns false when the id is unknown.</summary>
    public bool Delete(long id)
    {
        lock (_mapLock)
        {
            if (!_nodeById.Remove(id, out int node)) return false;
            Tombstone(node);
            return true;
        }
    }

    public bool Contains(long id)
    {
        lock (_mapLock) return _nodeById.ContainsKey(id);
    }

    /// <summary>Copies the stored vector (normalised, for cosine) into <paramref name="vector"/> and returns its labels.</summary>
    public bool TryGet(long id, Span<float> vector, out int[] labels)
    {
        if (vector.Length != Dimension)
            throw new ArgumentException($"destination has length {vector.Length}, expected dimension {Dimension}", nameof(vector));
        int node;
        lock (_mapLock)
        {
            if (!_nodeById.TryGetValue(id, out node))
            {
                labels = [];
                return false;
            }
        }
        new ReadOnlySpan<float>(_storage.Vector(node), Dimension).CopyTo(vector);
        labels = _storage.Labels[node] ?? [];
        return true;
    }

    /// <summary>The ids of all live points, in no particular order.</summary>
    public long[] GetIds()
    {
        lock (_mapLock) return [.. _nodeById.Keys];
    }

    public void Dispose()
    {
        _contexts.Dispose();
        _storage.Dispose();
    }

    private bool Insert(long id, ReadOnlySpan<float> vector, int[]? labels, SearchContext context)
    {
        int node = _storage.AllocateNode(_randomSeed);
        var stored = new Span<float>(_storage.Vector(node), Dimension);
        vector.CopyTo(stored);
        if (Metric == DistanceMetric.Cosine) VectorMath.Normalize(stored);
        if (_storage.Codes is not null) Int8Codes.Encode(_storage.Vector(node), Dimension, _storage.CodeRow(node));
        _storage.Ids[node] = id;
        _storage.Labels[node] = labels;
        _graph.Insert(node, context);
        return Commit(id, node);
    }

    /// <summary>Makes a linked node the live point for its id; the node it replaces, if any, becomes a tombstone.</summary>
    private bool Commit(long id, int node)
    {
        lock (_mapLock)
        {
            bool replaced = _nodeById.TryGetValue(id, out int previous);
            if (replaced) Tombstone(previous);
            _nodeById[id] = node;
            _storage.States[node] = NodeState.Live;
            _liveCount++;
            foreach (int label in _storage.Labels[node] ?? [])
                _liveCountByLabel[label] = _liveCountByLabel.GetValueOrDefault(label) + 1;
            return replaced;
        }
    }

    private void Tombstone(int node)
    {
        _storage.States[node] = NodeState.Deleted;
        _liveCount--;
        foreach (int label in _storage.Labels[node] ?? [])
        {
            int left = _liveCountByLabel[label] - 1;
            if (left == 0) _liveCountByLabel.Remove(label);
            else _liveCountByLabel[label] = left;
        }
    }

    /// <summary>The invariant of every vector the index stores or searches for: the index's dimension, finite components.
    /// Checked by the public methods (<see cref="ValidateVector"/>), asserted by the unchecked ones.</summary>
    [Conditional("DEBUG")]
    private void AssertValidVector(ReadOnlySpan<float> vector)
    {
        Debug.Assert(vector.Length == Dimension, $"vector has dimension {vector.Length}, expected {Dimension}: validate at the edge");
        Debug.Assert(VectorMath.AllFinite(vector), "vector has a NaN or infinite component: validate at the edge");
    }

    [Conditional("DEBUG")]
    private void AssertValidRows(ReadOnlySpan<float> vectors, int count, IReadOnlyList<int[]?>? labels)
    {
        Debug.Assert((long)count * Dimension == vectors.Length && (labels is null || labels.Count == count), "UpsertMany shapes");
        for (int row = 0; row < count; row++)
            AssertValidVector(vectors.Slice(row * Dimension, Dimension));
    }

    private void ValidateVector(ReadOnlySpan<float> vector, string parameterName)
    {
        if (vector.IsEmpty)
            throw new ArgumentException("vector is empty", parameterName);
        if (vector.Length != Dimension)
            throw new ArgumentException($"vector has dimension {vector.Length}, expected {Dimension}", parameterName);
        if (!VectorMath.AllFinite(vector))
            throw new ArgumentException($"{parameterName} has a NaN or infinite component", parameterName);
    }
}
