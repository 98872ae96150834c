using AnnServer.Core.Distance;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core;

/// <summary>
/// Points kept flat, without a graph, and searched exactly: a recovering collection's log tail, searchable before it is
/// inserted into the graph (as a growing segment is in Milvus, or an unindexed segment in Qdrant). Distances are the
/// ones an <see cref="HnswIndex"/> of the same metric gives for the same vectors (normalised for cosine, the same
/// kernels), so the hits of both merge. Fixed once built; searches from any number of threads.
/// </summary>
public sealed unsafe class ExactPointSet
{
    private readonly DistanceMetric _metric;
    private readonly int _dimension;
    private readonly long[] _ids;
    private readonly float[] _vectors;
    private readonly int[]?[] _labels;

    /// <param name="vectors">row-major, ids.Length × dimension, taken over (not copied); normalised here for cosine.</param>
    /// <param name="labels">one entry per id, null for none.</param>
    public ExactPointSet(DistanceMetric metric, int dimension, long[] ids, float[] vectors, int[]?[] labels)
    {
        if (dimension < 1) throw new ArgumentException($"dimension must be positive, got {dimension}", nameof(dimension));
        if ((long)ids.Length * dimension != vectors.Length)
            throw new ArgumentException($"vectors holds {vectors.Length} floats, {ids.Length} ids of dimension {dimension} need {(long)ids.Length * dimension}", nameof(vectors));
        if (labels.Length != ids.Length)
            throw new ArgumentException($"labels has {labels.Length} entries for {ids.Length} ids", nameof(labels));
        _metric = metric;
        _dimension = dimension;
        _ids = ids;
        _vectors = vectors;
        _labels = labels;
        if (metric == DistanceMetric.Cosine)
            for (int row = 0; row < ids.Length; row++) VectorMath.Normalize(_vectors.AsSpan(row * dimension, dimension));
    }

    public int Count => _ids.Length;
    public int Dimension => _dimension;

    public long Id(int row) => _ids[row];

    /// <summary>The stored vector of a row (normalised, for cosine, as an index stores it).</summary>
    public ReadOnlySpan<float> Vector(int row) => _vectors.AsSpan(row * _dimension, _dimension);

    public int[]? Labels(int row) => _labels[row];

    /// <summary>
    /// Exact top-k of the rows from <paramref name="fromRow"/> on that pass <paramref name="filter"/>, sorted by distance
    /// then id; writes at most k hits and returns how many. The query must be validated (dimension, finite). The filter's
    /// labels and ids apply; a payload expression (<see cref="SearchFilter.Where"/>) is refused: the set has no payloads.
    /// </summary>
    public int Search(ReadOnlySpan<float> query, int k, SearchFilter? filter, int fromRow, Span<SearchHit> results)
    {
        if (query.Length != _dimension)
            throw new ArgumentException($"query has dimension {query.Length}, expected {_dimension}", nameof(query));
        if (filter?.Where is not null)
            throw new ArgumentException("an exact point set holds no payloads, so a filter with a payload expression (Where) cannot be evaluated on it",
                nameof(filter));
        if (k < 1 || results.Length < k)
            throw new ArgumentException($"k must be positive and results must hold it: k {k}, results {results.Length}", nameof(k));
        float[] prepared = query.ToArray();
        if (_metric == DistanceMetric.Cosine) VectorMath.Normalize(prepared);
        var heap = new DistanceHeap(k + 1);
        fixed (float* queryPointer = prepared)
        fixed (float* vectors = _vectors)
        {
            if (_metric == DistanceMetric.L2)
                Scan<SquaredL2Distance>(queryPointer, vectors, k, filter, fromRow, heap);
            else
                Scan<InnerProductDistance>(queryPointer, vectors, k, filter, fromRow, heap);
        }
        int count = heap.Count;
        for (int i = count - 1; i >= 0; i--)
        {
            results[i] = new SearchHit(_ids[heap.TopNode], heap.TopDistance);
            heap.Pop();
        }
        results[..count].Sort();
        return count;
    }

    private void Scan<TDistance>(float* query, float* vectors, int k, SearchFilter? filter, int fromRow, DistanceHeap heap)
        where TDistance : struct, IDistanceFunction
    {
        for (int row = Math.Max(fromRow, 0); row < _ids.Length; row++)
        {
            if (filter is not null && !filter.Allows(_ids[row], _labels[row])) continue;
            float distance = TDistance.Compute(query, vectors + (long)row * _dimension, _dimension);
            if (heap.Count < k) heap.Push(distance, row);
            else if (distance < heap.TopDistance)
            {
                heap.Pop();
                heap.Push(distance, row);
            }
        }
    }
}
