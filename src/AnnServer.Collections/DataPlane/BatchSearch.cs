using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>A batch of validated queries against one collection on this node: SearchBatch on a local collection and a
/// shard replica's part of a cluster search. The queries are split over the cores in contiguous ranges; the answers
/// keep the order of the queries.</summary>
public static class BatchSearch
{
    // Below this many queries per worker, handing ranges to other threads costs more than it saves.
    private const int MinQueriesPerWorker = 4;

    public static BatchSearchResult Run(Collection collection, IReadOnlyList<SearchQuery> queries, int k, int ef, QuantizedSearchOptions quantized,
        CancellationToken ct)
    {
        var result = BatchSearchResult.Rent(queries.Count, k);
        int workers = Math.Clamp(queries.Count / MinQueriesPerWorker, 1, Environment.ProcessorCount);
        if (workers == 1)
        {
            SearchRange(collection, queries, k, ef, quantized, result, 0, queries.Count, ct);
            return result;
        }
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct };
        try
        {
            Parallel.For(0, workers, parallel, worker =>
            {
                int from = (int)((long)queries.Count * worker / workers);
                int to = (int)((long)queries.Count * (worker + 1) / workers);
                SearchRange(collection, queries, k, ef, quantized, result, from, to, ct);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // One query's failure (a dropped collection) is the batch's: rethrow it as the caller expects it.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return result;
    }

    private static void SearchRange(Collection collection, IReadOnlyList<SearchQuery> queries, int k, int ef, QuantizedSearchOptions quantized,
        BatchSearchResult result, int from, int to, CancellationToken ct)
    {
        for (int i = from; i < to; i++)
        {
            // Between queries, not inside one: a single search is short, a batch of a thousand is not.
            ct.ThrowIfCancellationRequested();
            SearchQuery query = queries[i];
            result.Found[i] = collection.Search(query.Vector.Span, k, ef, result.SlotOf(i), query.Filter, quantized);
        }
    }
}
