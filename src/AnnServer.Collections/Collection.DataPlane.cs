using AnnServer.Core;

namespace AnnServer.Collections;

// The collection as the data plane sees it: every call runs on this node, so searches and Gets complete synchronously
// and a read sees every write acknowledged before it (ReadOptions' sequences and deadline are for cluster reads).
public sealed partial class Collection : IVectorCollection
{
    ValueTask<SearchOutcome> IVectorCollection.SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        CancellationToken ct) =>
        new(new SearchOutcome(Search(query.Vector.Span, parameters.K, parameters.Ef, hits.Span, query.Filter)));

    ValueTask<BatchSearchResult> IVectorCollection.SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters,
        CancellationToken ct) =>
        new(BatchSearch.Run(this, queries, parameters.K, parameters.Ef, ct));

    ValueTask<UpsertResult> IVectorCollection.UpsertAsync(UpsertBatch batch, CancellationToken ct) => UpsertAsync(batch, ct);

    ValueTask<DeleteResult> IVectorCollection.DeleteAsync(long[] ids, CancellationToken ct) => DeleteAsync(ids, ct);

    ValueTask<PointsResult> IVectorCollection.GetAsync(IReadOnlyList<long> ids, GetParameters parameters, CancellationToken ct) =>
        new(PointReads.Read(this, ids, parameters.MaxAnswerBytes, ct));

    CollectionStatus IVectorCollection.Describe() => Status();
}
