using System.Diagnostics;
using AnnServer.Core.Distance;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Payloads;
using AnnServer.Core.Storage;

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
/// <para>
/// A point carries int32 labels and a typed payload (<see cref="Payload"/>, stored column-wise in
/// <see cref="PayloadStore"/>). Labels stay a storage of their own rather than becoming an int64-list payload field:
/// they have their own representation in the log, in snapshot versions 1 and 2, in the wire protocol and in compaction,
/// all of which keep working unchanged, and a caller's own field named "labels" stays theirs. The filter language
/// reaches them with its own condition (<see cref="Filtering.LabelMatch"/>), so one filter combines both.
/// </para>
/// </remarks>
public sealed unsafe partial class HnswIndex : IDisposable
{
    private readonly GraphStorage _storage;
    private readonly HnswGraph _graph;
    private readonly SearchContextPool _contexts;
    private readonly int _randomSeed;

    // Guards the id map, the label counts and state changes of committed nodes; never taken by searches.
    private readonly object _mapLock = new();
    private readonly NodeIdMap _nodeById = new();
    private readonly Dictionary<int, int> _liveCountByLabel = new();
    // The nodes given each label, for scans driven by a label match (see NodePostings); under the map lock, read without it.
    private readonly Dictionary<int, NodePostings> _nodesByLabel = new();
    private readonly PayloadStore _payloads = new();
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
        foreach (string field in options.LinkedFields) LinkValues(field);
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

    /// <summary>Bytes of one node's float32 vector row (the dimension's floats, rounded up to a cache line).</summary>
    public int VectorBytesPerPoint => _storage.VectorRowBytes;

    /// <summary>Bytes of one node's code row, what a quantized search reads per distance; 0 when not quantized.</summary>
    public int CodeBytesPerPoint => _storage.Codes?.RowBytes ?? 0;

    /// <summary>Bytes of link lists per node: the level-0 row, and the upper levels' lists averaged over the nodes.</summary>
    public double LinkBytesPerPoint
    {
        get
        {
            int nodes = _storage.NodeCount;
            if (nodes == 0) return 0;
            long upper = 0;
            for (int node = 0; node < nodes; node++)
                if (_storage.UpperLinks[node] is { } list) upper += list.Length * sizeof(int);
            return _storage.Level0RowBytes + (double)upper / nodes;
        }
    }

    /// <summary>Bytes held by vectors, links, ids, labels and payloads (an estimate for the managed parts).</summary>
    public long MemoryBytes
    {
        get
        {
            long map, payloads;
            lock (_mapLock)
            {
                map = _nodeById.MemoryBytes;
                payloads = _payloads.MemoryBytes;
                foreach (var postings in _nodesByLabel.Values) payloads += postings.MemoryBytes;
            }
            return _storage.MemoryBytes + map + payloads + ValueLinksMemoryBytes;
        }
    }

    /// <summary>Average distance computations per search since the index was made (for benchmarks): the walk's, and the
    /// exact scan's where the planner chose one or a walk fell back to it.</summary>
    public double DistanceComputationsPerSearch
    {
        get
        {
            long searches = Interlocked.Read(ref _searches);
            return searches == 0 ? 0 : (double)Interlocked.Read(ref _searchDistanceComputations) / searches;
        }
    }

    internal GraphStorage Storage => _storage;
    internal PayloadStore Payloads => _payloads;
    internal object MapLock => _mapLock;
    /// <summary>Read under <see cref="MapLock"/> only.</summary>
    internal NodeIdMap NodeById => _nodeById;
    internal IReadOnlyDictionary<int, NodePostings> NodesByLabel => _nodesByLabel;

    /// <summary>Inserts a point, or replaces the vector and labels of an existing id. Returns true when it replaced one.</summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component.</exception>
    public bool Upsert(long id, ReadOnlySpan<float> vector, ReadOnlySpan<int> labels = default)
    {
        ValidateVector(vector, nameof(vector));
        return UpsertUnchecked(id, vector, labels);
    }

    /// <summary>
    /// <see cref="Upsert(long, ReadOnlySpan{float}, ReadOnlySpan{int})"/> for a caller that validated the vector where it
    /// entered the process (the collections library: the server's request edge, a stream record, a log record):
    /// dimension and finiteness are asserted, not checked.
    /// </summary>
    internal bool UpsertUnchecked(long id, ReadOnlySpan<float> vector, ReadOnlySpan<int> labels = default)
    {
        AssertValidVector(vector);
        var context = _contexts.Rent();
        try
        {
            return Insert(id, vector, labels.IsEmpty ? null : labels.ToArray(), payload: null, context);
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>
    /// Inserts a point with a payload, or replaces the vector, labels and whole payload of an existing id. Returns true
    /// when it replaced one. A refused payload changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component; a payload past a limit of
    /// <see cref="PayloadLimits"/>, or giving a field a value of another kind than it holds (the message names the field).</exception>
    public bool Upsert(long id, ReadOnlySpan<float> vector, Payload? payload, ReadOnlySpan<int> labels = default)
    {
        ValidateVector(vector, nameof(vector));
        if (payload is not null) PreparePayloads([payload], nameof(payload));
        var context = _contexts.Rent();
        try
        {
            return Insert(id, vector, labels.IsEmpty ? null : labels.ToArray(), payload, context);
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
        int threads = 0, IProgress<int>? progress = null, CancellationToken cancellationToken = default) =>
        UpsertMany(vectors, ids, labels, payloads: null, threads, progress, cancellationToken);

    /// <summary>
    /// <see cref="UpsertMany(ReadOnlyMemory{float}, ReadOnlyMemory{long}, IReadOnlyList{int[]}, int, IProgress{int}, CancellationToken)"/>
    /// with a payload per point (<paramref name="payloads"/> null, or one entry per id, each null or a payload). Every
    /// payload is validated, with the vectors, before any point is inserted.
    /// </summary>
    public void UpsertMany(ReadOnlyMemory<float> vectors, ReadOnlyMemory<long> ids, IReadOnlyList<int[]?>? labels,
        IReadOnlyList<Payload?>? payloads, int threads = 0, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        int count = ids.Length;
        if ((long)count * Dimension != vectors.Length)
            throw new ArgumentException($"vectors holds {vectors.Length} floats, but {count} ids of dimension {Dimension} need {(long)count * Dimension}", nameof(vectors));
        if (labels is not null && labels.Count != count)
            throw new ArgumentException($"labels has {labels.Count} entries for {count} ids", nameof(labels));
        if (payloads is not null && payloads.Count != count)
            throw new ArgumentException($"payloads has {payloads.Count} entries for {count} ids", nameof(payloads));
        for (int row = 0; row < count; row++)
        {
            if (!VectorMath.AllFinite(vectors.Span.Slice(row * Dimension, Dimension)))
                throw new ArgumentException($"vector of row {row} (id {ids.Span[row]}) has a NaN or infinite component", nameof(vectors));
        }
        UpsertManyUnchecked(vectors, ids, labels, payloads, threads, progress, cancellationToken);
    }

    /// <summary>
    /// <see cref="UpsertMany(ReadOnlyMemory{float}, ReadOnlyMemory{long}, IReadOnlyList{int[]}, IReadOnlyList{Payload}, int, IProgress{int}, CancellationToken)"/>
    /// for a caller that validated every row where it entered the process (see <see cref="UpsertUnchecked"/>): the shapes
    /// and the rows are asserted, not checked. Payloads are checked against the index's columns (their kinds are the
    /// index's state, not the request's) before any point is inserted.
    /// </summary>
    internal void UpsertManyUnchecked(ReadOnlyMemory<float> vectors, ReadOnlyMemory<long> ids, IReadOnlyList<int[]?>? labels = null,
        IReadOnlyList<Payload?>? payloads = null, int threads = 0, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        int count = ids.Length;
        AssertValidRows(vectors.Span, count, labels);
        if (payloads is not null)
        {
            if (payloads.Count != count)
                throw new ArgumentException($"payloads has {payloads.Count} entries for {count} ids", nameof(payloads));
            PreparePayloads(payloads, nameof(payloads));
        }

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
                    Insert(ids.Span[row], vectors.Span.Slice(row * Dimension, Dimension), labels?[row], payloads?[row], context);
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

    /// <summary>The ids of all live points, in the order of their nodes: a compaction that inserts them in this order keeps
    /// the node order (and the locality) of a reordered index.</summary>
    public long[] GetIds()
    {
        lock (_mapLock)
        {
            var ids = new long[_nodeById.Count];
            int next = 0;
            int nodes = _storage.NodeCount;
            for (int node = 0; node < nodes; node++)
                if (_storage.States[node] == NodeState.Live) ids[next++] = _storage.Ids[node];
            return next == ids.Length ? ids : throw new InvalidOperationException($"{next} live nodes for {ids.Length} ids: the index is inconsistent");
        }
    }

    public void Dispose()
    {
        _contexts.Dispose();
        _storage.Dispose();
        lock (_mapLock) _nodeById.Dispose();
    }

    /// <summary>
    /// Validates payloads whole and makes the columns of their new fields, so that writing them at commit cannot fail
    /// (a column made for a write that then fails on its vector stays, empty: it holds no value and changes no answer).
    /// </summary>
    private void PreparePayloads(IReadOnlyList<Payload?> payloads, string parameterName)
    {
        lock (_mapLock)
        {
            _payloads.Validate(payloads, parameterName);
            foreach (var payload in payloads)
                if (payload is not null) _payloads.AddColumns(payload);
        }
    }

    private bool Insert(long id, ReadOnlySpan<float> vector, int[]? labels, Payload? payload, SearchContext context)
    {
        int node = Link(id, vector, labels, context);
        bool replaced = Commit(id, node, payload);
        // Linked once live, so that the filtered search that finds its value's nearest may find it from the others too.
        if (payload is not null && _graph.ValueLinks.Length > 0) LinkInsertedNode(node, context);
        return replaced;
    }

    /// <summary>Makes a linked node the live point for its id; the node it replaces, if any, becomes a tombstone.</summary>
    /// <remarks>The payload is written before the node turns live: a search that sees the node live sees its payload.</remarks>
    private bool Commit(long id, int node, Payload? payload)
    {
        lock (_mapLock)
        {
            bool replaced = _nodeById.TryGetValue(id, out int previous);
            if (replaced) Tombstone(previous);
            if (payload is not null)
            {
                _payloads.Write(node, payload, live: false);
                _payloads.CountLive(node, +1);
            }
            _nodeById.Set(id, node, out _);
            _storage.States[node] = NodeState.Live;
            _liveCount++;
            foreach (int label in _storage.Labels[node] ?? [])
            {
                _liveCountByLabel[label] = _liveCountByLabel.GetValueOrDefault(label) + 1;
                ListUnderLabel(label, node);
            }
            return replaced;
        }
    }

    /// <summary>Adds a node to a label's postings (a node listing a label twice is listed twice: scans drop repeats).</summary>
    private void ListUnderLabel(int label, int node)
    {
        if (!_nodesByLabel.TryGetValue(label, out var postings)) _nodesByLabel.Add(label, postings = new NodePostings());
        postings.Add(node);
    }

    private void Tombstone(int node)
    {
        _storage.States[node] = NodeState.Deleted;
        _liveCount--;
        _payloads.CountLive(node, -1);
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
