using AnnServer.Cluster.Routing;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Grouping;

namespace AnnServer.Cluster;

// Recommendations and grouped searches of a cluster collection: the example ids' vectors are read from their shards
// with the Get path, then the search fans out to every shard with the vectors (the average as a plain query, or the
// best-score examples in the shard search), and the answers are merged (top-k by score, or groups by key).
public sealed partial class ShardedCollection
{
    public async ValueTask<RecommendOutcome> RecommendAsync(RecommendQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(parameters.Read);
        ExampleVectors examples = await ReadExamplesAsync(query, parameters.Read, ct).ConfigureAwait(false);
        SearchFilter filter = examples.Excluding(query.Filter);
        BatchSearchResult result = query.Strategy == RecommendStrategy.AverageVector
            ? await cluster.Router.SearchAsync(cluster.View, spec, [new SearchQuery(examples.AverageVector(Dimension), filter)], parameters,
                hitData, ct).ConfigureAwait(false)
            : await cluster.Router.SearchAsync(cluster.View, spec, [new SearchQuery(examples.Positives.AsMemory(0, Dimension), filter)],
                parameters, hitData, ct, new BestScoreExamples(examples.Positives, examples.Negatives)).ConfigureAwait(false);
        result.HitsOf(0).CopyTo(hits.Span);
        return new RecommendOutcome(result.Found[0], examples.MissingIds, result.MissingShards);
    }

    public async ValueTask<GroupedSearchResult> SearchGroupsAsync(SearchQuery query, GroupBy groupBy, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(parameters.Read);
        return await cluster.Router.SearchGroupsAsync(cluster.View, spec, query, null, groupBy, parameters, hitData, ct).ConfigureAwait(false);
    }

    public async ValueTask<GroupedSearchResult> RecommendGroupsAsync(RecommendQuery query, GroupBy groupBy, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(parameters.Read);
        ExampleVectors examples = await ReadExamplesAsync(query, parameters.Read, ct).ConfigureAwait(false);
        SearchFilter filter = examples.Excluding(query.Filter);
        GroupedSearchResult result = query.Strategy == RecommendStrategy.AverageVector
            ? await cluster.Router.SearchGroupsAsync(cluster.View, spec, new SearchQuery(examples.AverageVector(Dimension), filter), null,
                groupBy, parameters, hitData, ct).ConfigureAwait(false)
            : await cluster.Router.SearchGroupsAsync(cluster.View, spec, new SearchQuery(examples.Positives.AsMemory(0, Dimension), filter),
                new BestScoreExamples(examples.Positives, examples.Negatives), groupBy, parameters, hitData, ct).ConfigureAwait(false);
        return result with { MissingIds = examples.MissingIds };
    }

    /// <summary>The example ids' vectors, read from the replicas of their shards as a Get reads them (vectors only).</summary>
    private async Task<ExampleVectors> ReadExamplesAsync(RecommendQuery query, ReadOptions read, CancellationToken ct)
    {
        var ids = new List<long>(query.PositiveIds.Count + query.NegativeIds.Count);
        ids.AddRange(query.PositiveIds);
        ids.AddRange(query.NegativeIds);
        var found = new Dictionary<long, float[]>();
        if (ids.Count > 0)
        {
            var get = new GetParameters(long.MaxValue, read) { Payload = PayloadSelection.None, WithVector = true };
            PointsResult points = await cluster.Router.GetAsync(cluster.View, spec, ids.Distinct().ToList(), get, ct).ConfigureAwait(false);
            foreach (StoredPoint point in points.Points) found.TryAdd(point.Id, point.Vector);
        }
        return ExampleVectors.Resolve(query, Dimension, spec.Metric, found, Name);
    }
}
