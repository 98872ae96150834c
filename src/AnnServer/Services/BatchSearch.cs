using System.Buffers;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Protocol.V1;
using Google.Protobuf.Collections;

namespace AnnServer.Services;

/// <summary>A batch of validated queries against one collection, on the calling thread: SearchBatch on a local
/// collection and SearchShard on a shard replica.</summary>
internal static class BatchSearch
{
    public static SearchBatchResponse Run(Collection collection, RepeatedField<BatchQuery> queries, int k, int ef, CancellationToken cancellationToken)
    {
        SearchHit[] hits = ArrayPool<SearchHit>.Shared.Rent(k);
        try
        {
            var response = new SearchBatchResponse();
            response.Results.Capacity = queries.Count;
            foreach (BatchQuery query in queries)
            {
                // Between queries, not inside one: a single search is short, a batch of a thousand is not.
                cancellationToken.ThrowIfCancellationRequested();
                int found = collection.Search(PackedFloats.AsSpan(query.Vector), k, ef, hits, ProtoMapping.ToFilter(query.Filter));
                var result = new BatchResult();
                ProtoMapping.AddHits(result.Hits, hits.AsSpan(0, found));
                response.Results.Add(result);
            }
            return response;
        }
        finally
        {
            ArrayPool<SearchHit>.Shared.Return(hits);
        }
    }
}
