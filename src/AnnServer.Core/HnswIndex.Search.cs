using System.Diagnostics;
using AnnServer.Core.Distance;
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
    /// Allocates nothing beyond what the filter itself holds.
    /// </summary>
    /// <exception cref="ArgumentException">wrong dimension, NaN or infinite component, k ≤ 0, ef &lt; k, results shorter than k.</exception>
    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter = null)
    {
        ValidateSearch(query, k, ef);
        if (results.Length < k)
            throw new ArgumentException($"results has room for {results.Length} hits, k is {k}", nameof(results));
        return SearchUnchecked(query, k, ef, results, filter);
    }

    public SearchHit[] Search(ReadOnlySpan<float> query, int k, int ef, SearchFilter? filter = null)
    {
        ValidateSearch(query, k, ef);
        var hits = new SearchHit[k];
        int found = SearchUnchecked(query, k, ef, hits, filter);
        return found == k ? hits : hits[..found];
    }

    /// <summary>
    /// <see cref="Search(ReadOnlySpan{float}, int, int, Span{SearchHit}, SearchFilter?)"/> for a caller that validated the
    /// query and k, ef where the request entered the process (the collections library, behind the server's edge): the
    /// hot path checks nothing a second time, and asserts in debug builds.
    /// </summary>
    internal int SearchUnchecked(ReadOnlySpan<float> query, int k, int ef, Span<SearchHit> results, SearchFilter? filter)
    {
        AssertValidVector(query);
        Debug.Assert(k >= 1 && k <= ef && ef <= MaxEf && results.Length >= k, "k and ef must satisfy 1 <= k <= ef <= MaxEf: validate at the edge");
        if (filter is { IsEmpty: true }) filter = null;

        var context = _contexts.Rent();
        try
        {
            float* prepared = PrepareQuery(query, context);
            if (filter is not null && ShouldScanExactly(filter, ef))
                ScanExact(context, prepared, k, filter);
            else
            {
                _graph.Search(context, prepared, ef, filter);
                Interlocked.Increment(ref _searches);
                Interlocked.Add(ref _searchDistanceComputations, context.DistanceComputations);
            }
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
        if (filter is { IsEmpty: true }) filter = null;
        var context = _contexts.Rent();
        try
        {
            float* prepared = PrepareQuery(query, context);
            ScanExact(context, prepared, k, filter);
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
    /// Where a filtered search stops walking the graph and scans the matching points instead.
    /// </summary>
    /// <remarks>
    /// With a fraction s of points passing, a graph search must visit about ef/s nodes to collect ef results, each costing
    /// up to 2·M distances: about 2·M·ef/s distances. Scanning costs s·N distances (plus a cheap filter test per node).
    /// The two are equal where s·N = 2·M·ef/s, that is where the matching count s·N = √(2·M·ef·N); below it the scan is
    /// cheaper, and it is exact. At low selectivity the graph also loses recall (the passing points stop forming a
    /// connected graph), so erring towards the scan is safe. Only labels give an estimate here; excluded ids alone are
    /// assumed to pass almost everything.
    /// </remarks>
    private bool ShouldScanExactly(SearchFilter filter, int ef)
    {
        if (filter.AnyOfLabels is null) return false;
        long matching = 0;
        lock (_mapLock)
        {
            foreach (int label in filter.AnyOfLabels) matching += _liveCountByLabel.GetValueOrDefault(label);
        }
        long nodes = NodeCount;
        return (double)matching * matching < 2.0 * M * ef * nodes;
    }

    private void ScanExact(SearchContext context, float* query, int k, SearchFilter? filter)
    {
        int nodes = NodeCount;
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
        foreach (var own in partial)
        {
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
        for (int i = count - 1; i >= 0; i--)
        {
            hits[i] = new SearchHit(_storage.Ids[heap.TopNode], heap.TopDistance);
            heap.Pop();
        }
        // Already in distance order; this only reorders equal distances by id (insertion sort on sorted input is linear).
        for (int i = 1; i < count; i++)
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
        int returned = Math.Min(k, count);
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
