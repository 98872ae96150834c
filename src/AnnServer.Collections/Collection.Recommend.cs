using AnnServer.Core;
using AnnServer.Core.Grouping;

namespace AnnServer.Collections;

// Recommendations by examples and grouped searches on this node. The example ids are read from this collection; the
// average-vector strategy is then an ordinary search (and answered during a background replay like one), while the
// best-score walk and grouping read the index alone, which a replay has not caught up yet: refused until it ends.
public sealed partial class Collection
{
    ValueTask<RecommendOutcome> IVectorCollection.RecommendAsync(RecommendQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct)
    {
        ExampleVectors examples = ResolveExamples(query);
        SearchFilter filter = examples.Excluding(query.Filter);
        Span<SearchHit> written = hits.Span;
        int found = query.Strategy == RecommendStrategy.AverageVector
            ? Search(examples.AverageVector(Dimension), parameters.K, parameters.Ef, written, filter, parameters.Quantization)
            : OnIndex("best-score recommendations are", index =>
                index.SearchBestScoreUnchecked(examples.Positives, examples.Negatives, parameters.K, parameters.Ef, hits.Span, filter));
        found = HitsWithin(written[..found], parameters.ScoreThreshold);
        if (hitData is not null && parameters.WantsHitData)
            ReadHitData(written[..found], 0, parameters, hitData);
        return new(new RecommendOutcome(found, examples.MissingIds, []));
    }

    ValueTask<GroupedSearchResult> IVectorCollection.SearchGroupsAsync(SearchQuery query, GroupBy groupBy, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct)
    {
        var groups = OnIndex("grouped searches are", index => index.SearchGroups(query.Vector.Span, groupBy, parameters.Ef, query.Filter, parameters.Quantization));
        return new(Answer(groups, [], parameters, hitData));
    }

    ValueTask<GroupedSearchResult> IVectorCollection.RecommendGroupsAsync(RecommendQuery query, GroupBy groupBy, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct)
    {
        ExampleVectors examples = ResolveExamples(query);
        SearchFilter filter = examples.Excluding(query.Filter);
        var groups = OnIndex("grouped searches are", index => query.Strategy == RecommendStrategy.AverageVector
            ? index.SearchGroups(examples.AverageVector(Dimension), groupBy, parameters.Ef, filter, parameters.Quantization)
            : index.SearchBestScoreGroups(examples.Positives, examples.Negatives, groupBy, parameters.Ef, filter));
        return new(Answer(groups, examples.MissingIds, parameters, hitData));
    }

    /// <summary>The example ids' stored vectors, read from this collection.</summary>
    private ExampleVectors ResolveExamples(RecommendQuery query)
    {
        var found = new Dictionary<long, float[]>();
        foreach (var ids in (IReadOnlyList<long>[])[query.PositiveIds, query.NegativeIds])
        {
            foreach (long id in ids)
            {
                if (found.ContainsKey(id)) continue;
                var vector = new float[Dimension];
                if (TryGet(id, vector, out _)) found.Add(id, vector);
            }
        }
        return ExampleVectors.Resolve(query, Dimension, Metric, found, Name);
    }

    /// <summary>Runs <paramref name="read"/> on the index searches read now, counted as a search; refused while the log tail
    /// is replayed in the background (the index does not hold it all yet).</summary>
    private T OnIndex<T>(string what, Func<HnswIndex, T> read)
    {
        Interlocked.Increment(ref _searches);
        IndexGeneration generation = _index.Enter();
        try
        {
            if (_replay is { } replay) throw ReplayingRefusal(replay, what);
            return read(generation.Index);
        }
        finally
        {
            generation.Exit();
        }
    }

    /// <summary>The groups within the score threshold (a group left empty is dropped), with their hit data.</summary>
    private GroupedSearchResult Answer(IReadOnlyList<HitGroup> groups, IReadOnlyList<long> missingIds, SearchParameters parameters,
        IHitDataSink? hitData)
    {
        var kept = new List<HitGroup>(groups.Count);
        int firstHit = 0;
        foreach (var group in groups)
        {
            int within = HitsWithin(group.Hits, parameters.ScoreThreshold);
            if (within == 0) continue;
            var hits = within == group.Hits.Length ? group.Hits : group.Hits[..within];
            kept.Add(group with { Hits = hits });
            if (hitData is not null && parameters.WantsHitData) ReadHitData(hits, firstHit, parameters, hitData);
            firstHit += hits.Length;
        }
        return new GroupedSearchResult(kept, missingIds, []);
    }
}
