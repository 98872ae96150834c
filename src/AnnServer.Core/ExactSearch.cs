using AnnServer.Core.Distance;

namespace AnnServer.Core;

/// <summary>Brute-force top-k over plain row-major arrays: ground truth for benchmarks and tests.</summary>
public static unsafe class ExactSearch
{
    /// <summary>
    /// For each query (row-major, count × dimension), the k nearest rows of <paramref name="baseVectors"/>, as hits whose
    /// Id is the row number, sorted by distance then row. Queries run in parallel over <paramref name="threads"/> threads
    /// (0 = all cores); <paramref name="progress"/> receives the number of queries answered, now and then.
    /// </summary>
    public static SearchHit[][] SearchBatch(ReadOnlyMemory<float> baseVectors, ReadOnlyMemory<float> queries, int dimension,
        int k, DistanceMetric metric, int threads = 0, IProgress<int>? progress = null)
    {
        if (dimension <= 0) throw new ArgumentException($"dimension must be positive, got {dimension}", nameof(dimension));
        if (k <= 0) throw new ArgumentException($"k must be positive, got {k}", nameof(k));
        if (baseVectors.Length % dimension != 0)
            throw new ArgumentException($"base holds {baseVectors.Length} floats, not a multiple of dimension {dimension}", nameof(baseVectors));
        if (queries.Length % dimension != 0)
            throw new ArgumentException($"queries holds {queries.Length} floats, not a multiple of dimension {dimension}", nameof(queries));

        int baseCount = baseVectors.Length / dimension;
        int queryCount = queries.Length / dimension;
        float[] prepared = baseVectors.ToArray();
        if (metric == DistanceMetric.Cosine)
            for (int row = 0; row < baseCount; row++) VectorMath.Normalize(prepared.AsSpan(row * dimension, dimension));

        var answers = new SearchHit[queryCount][];
        int done = 0;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount };
        Parallel.For(0, queryCount, options, () => new float[dimension], (q, _, query) =>
        {
            queries.Span.Slice(q * dimension, dimension).CopyTo(query);
            if (metric == DistanceMetric.Cosine) VectorMath.Normalize(query);
            answers[q] = metric == DistanceMetric.L2
                ? Nearest<SquaredL2Distance>(prepared, baseCount, query, dimension, k)
                : Nearest<InnerProductDistance>(prepared, baseCount, query, dimension, k);
            int finished = Interlocked.Increment(ref done);
            if (progress is not null && finished % 100 == 0) progress.Report(finished);
            return query;
        }, _ => { });
        progress?.Report(queryCount);
        return answers;
    }

    private static SearchHit[] Nearest<TDistance>(float[] baseVectors, int baseCount, float[] query, int dimension, int k)
        where TDistance : struct, IDistanceFunction
    {
        var heap = new Hnsw.DistanceHeap(k + 1);
        fixed (float* basePointer = baseVectors)
        fixed (float* queryPointer = query)
        {
            for (int row = 0; row < baseCount; row++)
            {
                float* vector = basePointer + (long)row * dimension;
                float distance = TDistance.Compute(queryPointer, vector, dimension);
                if (heap.Count < k) heap.Push(distance, row);
                else if (distance < heap.TopDistance || (distance == heap.TopDistance && row < heap.TopNode))
                {
                    heap.Pop();
                    heap.Push(distance, row);
                }
            }
        }
        var hits = new SearchHit[heap.Count];
        for (int i = hits.Length - 1; i >= 0; i--)
        {
            hits[i] = new SearchHit(heap.TopNode, heap.TopDistance);
            heap.Pop();
        }
        Array.Sort(hits);
        return hits;
    }
}
