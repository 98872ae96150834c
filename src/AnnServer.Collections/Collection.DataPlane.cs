using System.Diagnostics;
using AnnServer.Collections.Diagnostics;
using AnnServer.Core;
using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

// The collection as the data plane sees it: every call runs on this node, so searches and Gets complete synchronously
// and a read sees every write acknowledged before it (ReadOptions' sequences and deadline are for cluster reads).
public sealed partial class Collection : IVectorCollection
{
    ValueTask<SearchOutcome> IVectorCollection.SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct)
    {
        using Activity? activity = CollectionTracing.StartSearch(Name, parameters.K, parameters.Ef, query.Filter is not null);
        Span<SearchHit> written = hits.Span;
        int found = Search(query.Vector.Span, parameters.K, parameters.Ef, written, query.Filter, parameters.Quantization);
        found = HitsWithin(written[..found], parameters.ScoreThreshold);
        if (hitData is not null && parameters.WantsHitData)
            ReadHitData(written[..found], 0, parameters, hitData);
        activity?.SetTag("ann.hits", found);
        return new(new SearchOutcome(found));
    }

    ValueTask<BatchSearchResult> IVectorCollection.SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct)
    {
        using Activity? activity = CollectionTracing.StartSearchBatch(Name, parameters.K, parameters.Ef, queries);
        BatchSearchResult result = BatchSearch.Run(this, queries, parameters.K, parameters.Ef, parameters.Quantization, ct);
        for (int q = 0; q < result.Count; q++)
        {
            result.Found[q] = HitsWithin(result.HitsOf(q), parameters.ScoreThreshold);
            if (hitData is not null && parameters.WantsHitData)
                ReadHitData(result.HitsOf(q), q * result.K, parameters, hitData);
        }
        return new(result);
    }

    ValueTask<UpsertResult> IVectorCollection.UpsertAsync(UpsertBatch batch, CancellationToken ct) => UpsertAsync(batch, ct);

    ValueTask<DeleteResult> IVectorCollection.DeleteAsync(long[] ids, CancellationToken ct) => DeleteAsync(ids, ct);

    ValueTask<PointsResult> IVectorCollection.GetAsync(IReadOnlyList<long> ids, GetParameters parameters, CancellationToken ct) =>
        new(PointReads.Read(this, ids, parameters.MaxAnswerBytes, parameters.Payload, parameters.WithVector, ct));

    ValueTask<PayloadWriteResult> IVectorCollection.SetPayloadAsync(long[] ids, Payload payload, PayloadWriteMode mode, CancellationToken ct) =>
        SetPayloadAsync(ids, payload, mode, ct);

    ValueTask<PayloadWriteResult> IVectorCollection.DeletePayloadAsync(long[] ids, IReadOnlyList<string> fields, CancellationToken ct) =>
        DeletePayloadAsync(ids, fields, ct);

    ValueTask<long> IVectorCollection.CountAsync(SearchFilter? filter, ReadOptions read, CancellationToken ct) => new(CountMatching(filter));

    ValueTask<ScrollResult> IVectorCollection.ScrollAsync(ScrollParameters parameters, CancellationToken ct) => new(Scroll(parameters, ct));

    CollectionStatus IVectorCollection.Describe() => Status();

    ICollectionIdSets IVectorCollection.IdSets => IdSets;

    /// <summary>How many of the hits (closest first) lie within the threshold.</summary>
    private static int HitsWithin(ReadOnlySpan<SearchHit> hits, float? threshold)
    {
        if (threshold is not { } max) return hits.Length;
        int within = hits.Length;
        while (within > 0 && !(hits[within - 1].Distance <= max)) within--;
        return within;
    }
}
