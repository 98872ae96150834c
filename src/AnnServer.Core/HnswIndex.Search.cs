using System.Diagnostics;
using System.Runtime.CompilerServices;
using AnnServer.Core.Distance;
using AnnServer.Core.Filtering;
using AnnServer.Core.Hnsw;

namespace AnnServer.Core;

public sealed unsafe partial class HnswIndex
{
    /// <summary>Largest ef a search accepts; also bounds k.</summary>
    public const int MaxEf = 1 << 16;

    // Below this many nodes an exact search runs on the calling thread: fanning out costs more than it saves.
    private const int ParallelExactScanThreshold = 50_000;

    /// <summary>
    /// Approximate top-k, sorted by distance then id. Writes at most k hits and returns how many.
    /// Without a filter it allocates nothing; a filter is compiled once per call (a few small arrays).
    /// <paramref name="quantized"/> says how a quantized index re-ranks (<see cref="QuantizedSearchOptions"/>; without the
    /// re-rank the hits' distances are the codes' estimates); an index without codes ignores it.
    /// </summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component, k ≤ 0, ef &lt; k, results shorter
    /// than k; a filter past a limit of <see cref="FilterLimits"/> or testing a field of another kind (named).</exception>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter = null,
        QuantizedSearchOptions quantized = default)
    {
        ValidateSearch(query, k, ef);
        if (results.Length < k)
            throw new ArgumentException($"results has room for {results.Length} hits, k is {k}", nameof(results));
        return SearchUnchecked(query, k, ef, results, filter, quantized);
    }

    public SearchHit[] Search(ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter = null, QuantizedSearchOptions quantized = default)
    {
        ValidateSearch(query, k, ef);
        var hits = new SearchHit[k];
        int found = SearchUnchecked(query, k, ef, hits, filter, quantized);
        return found == k ? hits : hits[..found];
    }

    /// <summary>
    /// <see cref="Search(ReadOnlySpan{float}, int, int, Span{SearchHit}, SearchFilter?)"/> for a caller that validated the
    /// query and k, ef where the request entered the process (the collections library, behind the server's edge): the
    /// hot path checks nothing a second time, and asserts in debug builds. The filter is still compiled (and refused
    /// past its limits) here: only the index knows its columns.
    /// Never inlined: with tiered PGO the JIT inlined it (and the collection's search around it) into the server's
    /// request handler, so a profile could not tell the engine's samples from the server's mapping; one call per search
    /// costs nothing measurable against the walk (bench/serving/profile.sh).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal int SearchUnchecked(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter,
        QuantizedSearchOptions quantized = default)
    {
        AssertValidVector(query);
        Debug.Assert(k >= 1 && k <= ef && ef <= MaxEf && results.Length >= k, "k and ef must satisfy 1 <= k <= ef <= MaxEf: validate at the edge");
        CompiledFilter? compiled = CompileFilter(filter);
        if (compiled is { MatchesNothing: true }) return 0;

        var context = _contexts.Rent();
        try
        {
            float* prepared = PrepareQuery(query, context);
            FilteredSearchPlan plan = compiled is null ? new(FilteredSearchStrategy.GraphWalk, ef) : Plan(compiled, ef);
            int computations = 0;
            if (plan.Strategy != FilteredSearchStrategy.ExactScan)
            {
                bool twoHop = plan.Strategy == FilteredSearchStrategy.TwoHopWalk;
                _graph.Search(context, prepared, plan.WalkEf, compiled, twoHop, RerankPool.For(quantized, Quantization, k, twoHop));
                computations = context.DistanceComputations;
            }
            // Fewer than k found: either fewer than k points pass (the estimate was high) or the walk lost its way
            // among the passing ones. Either way the exact scan gives the right answer, and this is rare by design.
            // A two-hop walk short of ef was cut off from the rest of the passing points (FilteredSearchPlanner).
            int enough = plan.Strategy == FilteredSearchStrategy.TwoHopWalk ? plan.WalkEf : k;
            if (plan.Strategy == FilteredSearchStrategy.ExactScan || (compiled is not null && context.Results.Count < enough))
            {
                ScanExact(context, prepared, k, compiled);
                computations += context.DistanceComputations;
            }
            CountSearch(computations);
            return DrainSorted(context, k, results);
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>Exact top-k by brute force over every live point, over all cores for large indexes.</summary>
    public SearchHit[] ExactSearch(ReadOnlySpan<float> query, int k, SearchFilter? filter = null)
    {
        ValidateSearch(query, k, k);
        CompiledFilter? compiled = CompileFilter(filter);
        if (compiled is { MatchesNothing: true }) return [];
        var context = _contexts.Rent();
        try
        {
            float* prepared = PrepareQuery(query, context);
            ScanExact(context, prepared, k, compiled);
            var hits = new SearchHit[k];
            int found = DrainSorted(context, k, hits);
            return found == k ? hits : hits[..found];
        }
        finally
        {
            _contexts.Return(context);
        }
    }

    /// <summary>The request's filter compiled against the columns as they are now; null when it lets everything through.</summary>
    private CompiledFilter? CompileFilter(SearchFilter? filter)
    {
        if (filter is null || filter.IsEmpty) return null;
        CompiledFilter compiled;
        lock (_mapLock) compiled = FilterCompiler.Compile(filter, _storage, _payloads, _liveCountByLabel, _liveCount, _nodeById, _nodesByLabel, UsesRangeIndexes);
        return compiled.MatchesEverything ? null : compiled;
    }

    /// <summary>The planner's choice for a compiled filter (tests may force one with <see cref="ForcedStrategy"/>).</summary>
    private FilteredSearchPlan Plan(CompiledFilter filter, int ef)
    {
        var plan = FilteredSearchPlanner.Choose(filter.EstimatedMatches, NodeCount, M, ef,
            filter.Candidates is null ? -1 : filter.CandidateCount, Dimension);
        return ForcedStrategy is { } forced ? plan with { Strategy = forced } : plan;
    }

    /// <summary>For benchmarks: the strategy a search with this filter and ef would take now (null: no filter to plan).</summary>
    internal FilteredSearchPlan? PlanFor(SearchFilter filter, int ef)
    {
        CompiledFilter? compiled = CompileFilter(filter);
        return compiled is null || compiled.MatchesNothing ? null : Plan(compiled, ef);
    }

    /// <summary>For tests and measurements: every filtered search takes this strategy whatever the estimate.</summary>
    internal FilteredSearchStrategy? ForcedStrategy { get; set; }

    /// <summary>For measurements: range conditions take their candidates and estimate from the fields' sorted indexes
    /// (otherwise from the histograms, and a scan tests every node).</summary>
    internal bool UsesRangeIndexes { get; set; } = true;

    private void CountSearch(int distanceComputations)
    {
        Interlocked.Increment(ref _searches);
        Interlocked.Add(ref _searchDistanceComputations, distanceComputations);
    }

    /// <summary>Exact top-k of the passing points into <paramref name="context"/>, its <see cref="SearchContext.DistanceComputations"/>
    /// the scan's.</summary>
    private void ScanExact(SearchContext context, float* query, int k, CompiledFilter? filter)
    {
        int nodes = NodeCount;
        // Few candidates: visit them alone (on this thread: they are few by the planner's choice).
        if (filter?.Candidates is { } candidates && FilteredSearchPlanner.ScansCandidates(filter.CandidateCount, nodes, Dimension))
        {
            _graph.ScanCandidates(context, query, k, filter, candidates);
            return;
        }
        if (nodes < ParallelExactScanThreshold)
        {
            _graph.ScanExact(context, query, k, filter, 0, nodes);
            return;
        }

        // Each worker scans a stripe into its own context; the stripes' top-k are merged into the caller's context.
        int workers = Environment.ProcessorCount;
        int stripe = (nodes + workers - 1) / workers;
        var partial = new SearchContext[workers];
        nint queryAddress = (nint)query;
        Parallel.For(0, workers, w =>
        {
            var own = _contexts.Rent();
            partial[w] = own;
            _graph.ScanExact(own, (float*)queryAddress, k, filter, w * stripe, Math.Min(nodes, (w + 1) * stripe));
        });
        DistanceHeap merged = context.Results;
        merged.Clear();
        context.DistanceComputations = 0;
        foreach (var own in partial)
        {
            context.DistanceComputations += own.DistanceComputations;
            DistanceHeap results = own.Results;
            while (results.Count > 0)
            {
                float distance = results.TopDistance;
                int node = results.TopNode;
                results.Pop();
                if (merged.Count < k) merged.Push(distance, node);
                else if (distance < merged.TopDistance)
                {
                    merged.Pop();
                    merged.Push(distance, node);
                }
            }
            _contexts.Return(own);
        }
    }

    /// <summary>The query as the graph stores vectors: copied to aligned memory, normalised for cosine.</summary>
    private float* PrepareQuery(ReadOnlySpan<float> query, SearchContext context)
    {
        var prepared = new Span<float>(context.Query, Dimension);
        query.CopyTo(prepared);
        if (Metric == DistanceMetric.Cosine) VectorMath.Normalize(prepared);
        return context.Query;
    }

    /// <summary>Empties the result heap into hits sorted by distance then id, keeping the first k.</summary>
    private int DrainSorted(SearchContext context, int k, Span<SearchHit> destination)
    {
        DistanceHeap heap = context.Results;
        int count = heap.Count;
        context.EnsureHits(count);
        SearchHit[] hits = context.Hits;
        // Nodes first, ids later: the id of a node is a random read (8 bytes of 8 MB at a million points), and only the k
        // returned need one, not the ef the heap holds (64 misses a query at ef 64, 2.5 % of a 1M search's samples).
        for (int i = count - 1; i >= 0; i--)
        {
            hits[i] = new SearchHit(heap.TopNode, heap.TopDistance);
            heap.Pop();
        }
        int returned = Math.Min(k, count);
        // Equal distances are ordered by id, so every hit at the k-th distance competes for the last places.
        int competing = returned;
        while (competing < count && hits[competing].Distance.Equals(hits[returned - 1].Distance)) competing++;
        for (int i = 0; i < competing; i++) hits[i] = hits[i] with { Id = _storage.Ids[(int)hits[i].Id] };
        // Already in distance order; this only reorders equal distances by id (insertion sort on sorted input is linear).
        for (int i = 1; i < competing; i++)
        {
            SearchHit hit = hits[i];
            int j = i - 1;
            while (j >= 0 && hits[j].CompareTo(hit) > 0)
            {
                hits[j + 1] = hits[j];
                j--;
            }
            hits[j + 1] = hit;
        }
        hits.AsSpan(0, returned).CopyTo(destination);
        return returned;
    }

    private void ValidateSearch(ReadOnlySpan<float> query, int k, int ef)
    {
        ValidateVector(query, nameof(query));
        if (k <= 0)
            throw new ArgumentException($"k must be positive, got {k}", nameof(k));
        if (k > MaxEf)
            throw new ArgumentException($"k must be at most {MaxEf}, got {k}", nameof(k));
        if (ef < k)
            throw new ArgumentException($"ef must be at least k ({k}), got {ef}", nameof(ef));
        if (ef > MaxEf)
            throw new ArgumentException($"ef must be at most {MaxEf}, got {ef}", nameof(ef));
    }
}
