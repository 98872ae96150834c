using AnnServer.Core;
using AnnServer.Core.Grouping;
using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// A name the registry lists and describes but that serves no data-plane call yet or any more: a collection that failed
/// to load (<see cref="FailedCollection"/>) or one being loaded (<see cref="SnapshotLoad"/>). Every call is refused with
/// <see cref="Refusal"/>, which says why and what to do.
/// </summary>
public abstract class NonServingCollection(string name) : IVectorCollection
{
    public string Name { get; } = name;

    /// <summary>Unknown (the snapshot is damaged, or not read yet), so asking is refused like every data-plane call: the
    /// edge reads it to validate a request before the call, and the caller is told why the collection does not serve,
    /// not that its vectors have the wrong dimension.</summary>
    public int Dimension => throw Refusal();

    /// <summary>What every call to it is refused with.</summary>
    public abstract Exception Refusal();

    public abstract CollectionStatus Status();

    ValueTask<SearchOutcome> IVectorCollection.SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct) => throw Refusal();

    ValueTask<BatchSearchResult> IVectorCollection.SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct) => throw Refusal();

    ValueTask<RecommendOutcome> IVectorCollection.RecommendAsync(RecommendQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct) => throw Refusal();

    ValueTask<GroupedSearchResult> IVectorCollection.SearchGroupsAsync(SearchQuery query, GroupBy groupBy, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct) => throw Refusal();

    ValueTask<GroupedSearchResult> IVectorCollection.RecommendGroupsAsync(RecommendQuery query, GroupBy groupBy, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct) => throw Refusal();

    ValueTask<UpsertResult> IVectorCollection.UpsertAsync(UpsertBatch batch, CancellationToken ct) => throw Refusal();

    ValueTask<DeleteResult> IVectorCollection.DeleteAsync(long[] ids, CancellationToken ct) => throw Refusal();

    ValueTask<PointsResult> IVectorCollection.GetAsync(IReadOnlyList<long> ids, GetParameters parameters, CancellationToken ct) =>
        throw Refusal();

    ValueTask<PayloadWriteResult> IVectorCollection.SetPayloadAsync(long[] ids, Payload payload, PayloadWriteMode mode, CancellationToken ct) =>
        throw Refusal();

    ValueTask<PayloadWriteResult> IVectorCollection.DeletePayloadAsync(long[] ids, IReadOnlyList<string> fields, CancellationToken ct) =>
        throw Refusal();

    ValueTask<long> IVectorCollection.CountAsync(SearchFilter? filter, ReadOptions read, CancellationToken ct) => throw Refusal();

    ValueTask<ScrollResult> IVectorCollection.ScrollAsync(ScrollParameters parameters, CancellationToken ct) => throw Refusal();

    CollectionStatus IVectorCollection.Describe() => Status();

    ICollectionIdSets IVectorCollection.IdSets => throw Refusal();
}
