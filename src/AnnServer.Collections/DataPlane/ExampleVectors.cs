using AnnServer.Core;
using AnnServer.Core.Distance;

namespace AnnServer.Collections;

/// <summary>
/// A recommendation's examples as vectors: the ids found (as stored: normalised for cosine) and the vectors given inline
/// (normalised here for cosine, as stored vectors are), positives and negatives each laid end to end; the ids not held;
/// and the example ids, which the search leaves out. Made by a collection after reading the ids where they live (this
/// node, or their shards).
/// </summary>
public sealed class ExampleVectors
{
    private readonly HashSet<long> _exampleIds;

    private ExampleVectors(float[] positives, float[] negatives, IReadOnlyList<long> missingIds, HashSet<long> exampleIds)
    {
        Positives = positives;
        Negatives = negatives;
        MissingIds = missingIds;
        _exampleIds = exampleIds;
    }

    public float[] Positives { get; }
    public float[] Negatives { get; }
    public IReadOnlyList<long> MissingIds { get; }

    /// <summary>
    /// The examples of <paramref name="query"/>, the ids' vectors taken from <paramref name="found"/> (the ids held).
    /// </summary>
    /// <exception cref="ArgumentException">no positive left: every positive id is missing and no positive vector was given
    /// (names positive_ids and the ids).</exception>
    public static ExampleVectors Resolve(RecommendQuery query, int dimension, DistanceMetric metric, IReadOnlyDictionary<long, float[]> found,
        string collection)
    {
        var missing = new List<long>();
        var exampleIds = new HashSet<long>(query.PositiveIds);
        exampleIds.UnionWith(query.NegativeIds);
        float[] positives = Gather(query.PositiveIds, query.PositiveVectors, dimension, metric, found, missing);
        int positiveMissing = missing.Count;
        float[] negatives = Gather(query.NegativeIds, query.NegativeVectors, dimension, metric, found, missing);
        if (positives.Length == 0)
        {
            string ids = string.Join(", ", query.PositiveIds.Take(10)) + (query.PositiveIds.Count > 10 ? ", ..." : "");
            throw new ArgumentException(
                $"none of the {positiveMissing} positive_ids is in collection '{collection}' ({ids}) and no positive_vectors were given: a recommendation needs at least one positive example",
                "positive_ids");
        }
        return new ExampleVectors(positives, negatives, missing, exampleIds);
    }

    private static float[] Gather(IReadOnlyList<long> ids, IReadOnlyList<ReadOnlyMemory<float>> vectors, int dimension, DistanceMetric metric,
        IReadOnlyDictionary<long, float[]> found, List<long> missing)
    {
        int held = 0;
        foreach (long id in ids)
        {
            if (found.ContainsKey(id)) held++;
            else missing.Add(id);
        }
        var all = new float[(held + vectors.Count) * dimension];
        int row = 0;
        foreach (long id in ids)
            if (found.TryGetValue(id, out float[]? vector)) vector.CopyTo(all.AsSpan(row++ * dimension, dimension));
        foreach (var vector in vectors)
        {
            Span<float> destination = all.AsSpan(row++ * dimension, dimension);
            vector.Span.CopyTo(destination);
            if (metric == DistanceMetric.Cosine) VectorMath.Normalize(destination);
        }
        return all;
    }

    /// <summary>The average-vector strategy's query: avg_pos + (avg_pos − avg_neg), or avg_pos without negatives.</summary>
    public float[] AverageVector(int dimension)
    {
        float[] query = Mean(Positives, dimension);
        if (Negatives.Length == 0) return query;
        float[] negative = Mean(Negatives, dimension);
        for (int d = 0; d < dimension; d++) query[d] = 2 * query[d] - negative[d];
        return query;
    }

    private static float[] Mean(float[] rows, int dimension)
    {
        int count = rows.Length / dimension;
        var mean = new float[dimension];
        for (int row = 0; row < count; row++)
            for (int d = 0; d < dimension; d++) mean[d] += rows[row * dimension + d];
        for (int d = 0; d < dimension; d++) mean[d] /= count;
        return mean;
    }

    /// <summary><paramref name="filter"/> that also leaves out the example points, as excluded ids (which a cluster's shard
    /// search carries to other nodes).</summary>
    public SearchFilter Excluding(SearchFilter? filter)
    {
        var excluded = new HashSet<long>(_exampleIds);
        if (filter?.ExcludedIds is { } already) excluded.UnionWith(already);
        return new SearchFilter(filter?.AnyOfLabels, excluded) { Where = filter?.Where };
    }
}
