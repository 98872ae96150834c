using System.Buffers;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;

namespace AnnServer.Services;

/// <summary>A batch of validated queries against one collection: SearchBatch on a local collection and SearchShard on a
/// shard replica. The queries are split over the cores in contiguous ranges; the answers keep the order of the queries.</summary>
internal static class BatchSearch
{
    // Below this many queries per worker, handing ranges to other threads costs more than it saves.
    private const int MinQueriesPerWorker = 4;

    public static SearchBatchResponse Run(Collection collection, RepeatedField<BatchQuery> queries, int k, int ef, CancellationToken cancellationToken)
    {
        var results = new BatchResult[queries.Count];
        int workers = Math.Clamp(queries.Count / MinQueriesPerWorker, 1, Environment.ProcessorCount);
        if (workers == 1)
        {
            SearchRange(collection, queries, k, ef, results, 0, queries.Count, cancellationToken);
        }
        else
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancellationToken };
            try
            {
                Parallel.For(0, workers, parallel, worker =>
                {
                    int from = (int)((long)queries.Count * worker / workers);
                    int to = (int)((long)queries.Count * (worker + 1) / workers);
                    SearchRange(collection, queries, k, ef, results, from, to, cancellationToken);
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // One query's failure (a bad filter, a dropped collection) is the batch's: rethrow it as the caller expects it.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
        }
        var response = new SearchBatchResponse();
        response.Results.Add(results);
        return response;
    }

    private static void SearchRange(Collection collection, RepeatedField<BatchQuery> queries, int k, int ef, BatchResult[] results,
        int from, int to, CancellationToken cancellationToken)
    {
        SearchHit[] hits = ArrayPool<SearchHit>.Shared.Rent(k);
        try
        {
            for (int i = from; i < to; i++)
            {
                // Between queries, not inside one: a single search is short, a batch of a thousand is not.
                cancellationToken.ThrowIfCancellationRequested();
                BatchQuery query = queries[i];
                int found = collection.Search(PackedFloats.AsSpan(query.Vector), k, ef, hits, ProtoMapping.ToFilter(query.Filter));
                var result = new BatchResult();
                ProtoMapping.AddHits(result.Hits, hits.AsSpan(0, found));
                results[i] = result;
            }
        }
        finally
        {
            ArrayPool<SearchHit>.Shared.Return(hits);
        }
    }
}
