using AnnServer.Cluster.Routing;
using AnnServer.Collections;
using AnnServer.Core.Grouping;

namespace AnnServer.Cluster;

/// <summary>
/// A shard's part of a best-score recommendation or of a grouped search, run on this node's replica through the data
/// plane: the router resolved the example ids to vectors, so the replica gets a recommendation by vectors alone (and
/// the router's filter, which already leaves the example points out).
/// </summary>
internal static class ShardExampleSearch
{
    public static async Task<BatchSearchResult> SearchAsync(IVectorCollection replica, ShardSearch search, IHitDataSink? hitData,
        CancellationToken ct)
    {
        var result = new BatchSearchResult(search.Queries.Count, search.K);
        for (int q = 0; q < search.Queries.Count; q++)
        {
            RecommendOutcome outcome = await replica.RecommendAsync(Recommendation(search, q, replica.Dimension), search.Parameters,
                result.Hits.AsMemory(q * search.K, search.K), hitData is null ? null : new OffsetSink(hitData, q * search.K), ct).ConfigureAwait(false);
            result.Found[q] = outcome.Found;
        }
        return result;
    }

    public static async Task<IReadOnlyList<HitGroup>> SearchGroupsAsync(IVectorCollection replica, ShardSearch search, GroupBy groupBy,
        IHitDataSink? hitData, CancellationToken ct)
    {
        if (search.Queries.Count != 1)
            throw new ArgumentException($"a grouped shard search takes one query, got {search.Queries.Count}");
        GroupedSearchResult result = search.Examples is null
            ? await replica.SearchGroupsAsync(search.Queries[0], groupBy, search.Parameters, hitData, ct).ConfigureAwait(false)
            : await replica.RecommendGroupsAsync(Recommendation(search, 0, replica.Dimension), groupBy, search.Parameters, hitData, ct)
                .ConfigureAwait(false);
        return result.Groups;
    }

    private static RecommendQuery Recommendation(ShardSearch search, int query, int dimension)
    {
        BestScoreExamples examples = search.Examples!;
        return new RecommendQuery([], Rows(examples.Positives, dimension), [], Rows(examples.Negatives, dimension),
            RecommendStrategy.BestScore, search.Queries[query].Filter);
    }

    private static ReadOnlyMemory<float>[] Rows(float[] vectors, int dimension)
    {
        var rows = new ReadOnlyMemory<float>[vectors.Length / dimension];
        for (int i = 0; i < rows.Length; i++) rows[i] = vectors.AsMemory(i * dimension, dimension);
        return rows;
    }

    /// <summary>A query's hit data into the batch's numbering.</summary>
    private sealed class OffsetSink(IHitDataSink inner, int offset) : IHitDataSink
    {
        public void Vector(int hit, ReadOnlySpan<float> vector) => inner.Vector(offset + hit, vector);

        public void Field(int hit, string name, Core.Payloads.PayloadValue value) => inner.Field(offset + hit, name, value);
    }
}
