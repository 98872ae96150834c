using System.Diagnostics;
using AnnServer.Core.Distance;
using AnnServer.Core.Filtering;
using AnnServer.Core.Hnsw;
using AnnServer.Core.Recommend;

namespace AnnServer.Core;

public sealed unsafe partial class HnswIndex
{
    /// <summary>Most example vectors (positive and negative together) a best-score search takes: each one is a distance
    /// per node the walk scores.</summary>
    public const int MaxExamples = 64;

    /// <summary>
    /// Best-score recommendation (<see cref="BestScore"/>): the k live points best scored against the positive and
    /// negative example vectors, found by walking the graph with that score, sorted by score then id. The hits'
    /// distances are the scores. <paramref name="positives"/> and <paramref name="negatives"/> hold whole vectors of
    /// <see cref="Dimension"/> floats one after the other; at least one positive. The examples' own points are not left
    /// out: exclude their ids in <paramref name="filter"/>.
    /// </summary>
    /// <exception cref="ArgumentException">no positive, a length not a multiple of the dimension, more than
    /// <see cref="MaxExamples"/> examples, a NaN or infinite component; k and ef as for <see cref="Search(ReadOnlySpan{float}, int, int, Span{SearchHit}, SearchFilter?)"/>.</exception>
    public int SearchBestScore(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int k, int ef, Span<SearchHit> results,
        SearchFilter? filter = null)
    {
        ValidateExamples(positives, negatives);
        ValidateSearch(positives[..Dimension], k, ef);
        if (results.Length < k)
            throw new ArgumentException($"results has room for {results.Length} hits, k is {k}", nameof(results));
        return SearchBestScoreUnchecked(positives, negatives, k, ef, results, filter);
    }

    /// <summary><see cref="SearchBestScore"/> for a caller that validated the examples, k and ef at its edge.</summary>
    internal int SearchBestScoreUnchecked(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int k, int ef,
        Span<SearchHit> results, SearchFilter? filter)
    {
        Debug.Assert(k >= 1 && k <= ef && ef <= MaxEf && results.Length >= k, "k and ef must satisfy 1 <= k <= ef <= MaxEf: validate at the edge");
        CompiledFilter? compiled = CompileFilter(filter);
        if (compiled is { MatchesNothing: true }) return 0;
        var context = _contexts.Rent();
        try
        {
            FindBest(context, PrepareExamples(positives, negatives, context), k, ef, compiled, QuantizedSearchOptions.Default);
            return DrainSorted(context, k, results);
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>The exact best-score top-k by scoring every live point: the reference the walk is measured against.</summary>
    public SearchHit[] ExactBestScore(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, int k, SearchFilter? filter = null)
    {
        ValidateExamples(positives, negatives);
        ValidateSearch(positives[..Dimension], k, k);
        CompiledFilter? compiled = CompileFilter(filter);
        if (compiled is { MatchesNothing: true }) return [];
        var context = _contexts.Rent();
        try
        {
            SearchTarget target = PrepareExamples(positives, negatives, context);
            _graph.ScanExactBestScore(context, target.Vectors, target.Positives, target.Negatives, k, compiled, 0, NodeCount);
            var hits = new SearchHit[k];
            int found = DrainSorted(context, k, hits);
            return found == k ? hits : hits[..found];
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>
    /// The k best of <paramref name="target"/> into <c>context.Results</c>, as <see cref="SearchUnchecked"/> finds them:
    /// the planner's choice for a filter, the walk at ef, and the exact scan when the walk comes back short. A query's walk
    /// on a quantized index ends as <paramref name="quantized"/> says; best-score walks score with the float32 vectors.
    /// </summary>
    private void FindBest(SearchContext context, SearchTarget target, int k, int ef, CompiledFilter? compiled, QuantizedSearchOptions quantized)
    {
        FilteredSearchPlan plan = compiled is null ? new(FilteredSearchStrategy.GraphWalk, ef) : Plan(compiled, ef);
        if (plan.Strategy == FilteredSearchStrategy.ExactScan)
        {
            ScanTarget(context, target, k, compiled);
            CountSearch(context.DistanceComputations);
            return;
        }
        bool twoHop = plan.Strategy == FilteredSearchStrategy.TwoHopWalk;
        if (target.ByExamples)
            _graph.SearchBestScore(context, target.Vectors, target.Positives, target.Negatives, plan.WalkEf, compiled, twoHop);
        else
            _graph.Search(context, target.Vectors, plan.WalkEf, compiled, twoHop, RerankPool.For(quantized, Quantization, k, twoHop));
        int computations = context.DistanceComputations;
        int enough = twoHop ? plan.WalkEf : k;
        if (compiled is not null && context.Results.Count < enough)
        {
            ScanTarget(context, target, k, compiled);
            computations += context.DistanceComputations;
        }
        CountSearch(computations);
    }

    private void ScanTarget(SearchContext context, SearchTarget target, int k, CompiledFilter? compiled)
    {
        if (target.ByExamples)
            _graph.ScanExactBestScore(context, target.Vectors, target.Positives, target.Negatives, k, compiled, 0, NodeCount);
        else
            ScanExact(context, target.Vectors, k, compiled);
    }

    /// <summary>The examples copied into the context's memory, positives first, normalised for cosine as stored vectors are.</summary>
    private SearchTarget PrepareExamples(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives, SearchContext context)
    {
        int positiveCount = positives.Length / Dimension, negativeCount = negatives.Length / Dimension;
        float* examples = context.Examples(positives.Length + negatives.Length);
        var all = new Span<float>(examples, positives.Length + negatives.Length);
        positives.CopyTo(all);
        negatives.CopyTo(all[positives.Length..]);
        if (Metric == DistanceMetric.Cosine)
        {
            for (int e = 0; e < positiveCount + negativeCount; e++) VectorMath.Normalize(all.Slice(e * Dimension, Dimension));
        }
        return SearchTarget.Examples(examples, positiveCount, negativeCount);
    }

    private void ValidateExamples(ReadOnlySpan<float> positives, ReadOnlySpan<float> negatives)
    {
        if (positives.IsEmpty)
            throw new ArgumentException("a best-score search needs at least one positive example", nameof(positives));
        if (positives.Length % Dimension != 0)
            throw new ArgumentException($"positives has {positives.Length} floats, not a multiple of the dimension {Dimension}", nameof(positives));
        if (negatives.Length % Dimension != 0)
            throw new ArgumentException($"negatives has {negatives.Length} floats, not a multiple of the dimension {Dimension}", nameof(negatives));
        int examples = (positives.Length + negatives.Length) / Dimension;
        if (examples > MaxExamples)
            throw new ArgumentException($"{examples} examples, more than the limit MaxExamples ({MaxExamples})", nameof(positives));
        if (!VectorMath.AllFinite(positives))
            throw new ArgumentException("positives has a NaN or infinite component", nameof(positives));
        if (!VectorMath.AllFinite(negatives))
            throw new ArgumentException("negatives has a NaN or infinite component", nameof(negatives));
    }
}
