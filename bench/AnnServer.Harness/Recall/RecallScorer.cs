using AnnServer.Core;
using AnnServer.Datasets;

namespace AnnServer.Harness.Recall;

/// <summary>
/// Scores the answers to a query set against its ground truth. The threshold of each query (the largest exact
/// distance among its first k true neighbours) is computed once, so scoring an ef costs k distances per query.
/// </summary>
public sealed class RecallScorer
{
    /// <summary>Copies the vector of a point into the destination; false when there is no such point.</summary>
    private delegate bool VectorLookup(long id, Span<float> destination);

    private readonly VectorLookup _lookup;
    private readonly VectorSet _queries;
    private readonly int[][] _groundTruth;
    private readonly double[] _thresholds;

    /// <summary>Tie-aware scoring with the base vectors at hand (ids are row numbers).</summary>
    public RecallScorer(VectorSet baseVectors, VectorSet queries, int[][] groundTruth, int k, DistanceMetric metric)
        : this(queries, groundTruth, k, metric, baseVectors.Count, (id, destination) =>
        {
            if (id < 0 || id >= baseVectors.Count) return false;
            baseVectors.Row((int)id).CopyTo(destination);
            return true;
        })
    {
        if (queries.Dimension != baseVectors.Dimension)
            throw new InvalidDataException($"the queries have dimension {queries.Dimension} but the base vectors {baseVectors.Dimension}");
    }

    private RecallScorer(VectorSet queries, int[][] groundTruth, int k, DistanceMetric metric, long pointCount, VectorLookup lookup)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        ValidateGroundTruth(queries, groundTruth, k, pointCount);
        _lookup = lookup;
        _queries = queries;
        _groundTruth = groundTruth;
        K = k;
        Metric = metric;
        _thresholds = new double[queries.Count];
        var vector = new float[queries.Dimension];
        for (int q = 0; q < queries.Count; q++)
        {
            double max = double.NegativeInfinity;
            var truth = groundTruth[q];
            for (int j = 0; j < Math.Min(k, truth.Length); j++)
            {
                if (!lookup(truth[j], vector))
                    throw new InvalidDataException($"ground-truth row {q} names point {truth[j]}, which the index does not hold: was it made for this data?");
                max = Math.Max(max, ExactDistance.Compute(metric, queries.Row(q), vector));
            }
            _thresholds[q] = max;
        }
    }

    /// <summary>Tie-aware scoring from the vectors stored in a loaded index (ids must be the ground truth's row numbers).</summary>
    public static RecallScorer FromIndex(HnswIndex index, VectorSet queries, int[][] groundTruth, int k) =>
        new(queries, groundTruth, k, index.Metric, long.MaxValue, (id, destination) => index.TryGet(id, destination, out _));

    public int K { get; }
    public DistanceMetric Metric { get; }

    /// <summary>Always true: both sources settle ties by distance. Kept in the JSON so readers know how recall was counted.</summary>
    public bool TieAware => true;

    /// <summary>Mean recall@k of a whole pass: <paramref name="ids"/> holds k slots per query, of which the first
    /// <paramref name="counts"/>[q] are filled.</summary>
    public double MeanRecall(ReadOnlySpan<long> ids, ReadOnlySpan<int> counts)
    {
        if (counts.Length != _queries.Count || ids.Length != (long)_queries.Count * K)
            throw new ArgumentException($"expected {K} id slots for each of {_queries.Count} queries");
        var distances = new double[K];
        var vector = new float[_queries.Dimension];
        double sum = 0;
        for (int q = 0; q < _queries.Count; q++)
        {
            var returned = ids.Slice(q * K, Math.Min(counts[q], K));
            for (int i = 0; i < returned.Length; i++)
            {
                // An id that names no point can never be a true neighbour.
                distances[i] = _lookup(returned[i], vector)
                    ? ExactDistance.Compute(Metric, _queries.Row(q), vector)
                    : double.PositiveInfinity;
            }
            sum += RecallCalculator.TieAware(returned, distances.AsSpan(0, returned.Length), _thresholds[q], K, _groundTruth[q].Length);
        }
        return sum / _queries.Count;
    }

    /// <summary>Checks that the ground truth fits the queries and points, with a message naming what does not.</summary>
    private static void ValidateGroundTruth(VectorSet queries, int[][] groundTruth, int k, long pointCount)
    {
        if (groundTruth.Length < queries.Count)
            throw new InvalidDataException($"the ground truth has {groundTruth.Length} rows for {queries.Count} queries");
        long needed = Math.Min(k, pointCount);
        for (int q = 0; q < queries.Count; q++)
        {
            if (groundTruth[q].Length < needed)
                throw new InvalidDataException($"ground-truth row {q} lists {groundTruth[q].Length} neighbours, fewer than k = {k}");
            foreach (int id in groundTruth[q])
                if (id < 0 || id >= pointCount)
                    throw new InvalidDataException($"ground-truth row {q} names point {id}, but the base has rows 0..{pointCount - 1}: was it made for these files?");
        }
    }
}
