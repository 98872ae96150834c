using AnnServer.Core.Payloads;
using AnnServer.Core;

namespace AnnServer.Collections;

/// <summary>
/// A collection whose folder was found at start but could not be loaded: quarantined. The server serves the others;
/// this one is listed and described (state <see cref="CollectionState.Failed"/> and <see cref="Reason"/>), every
/// data-plane call is refused with <see cref="CollectionPreconditionException"/> (FAILED_PRECONDITION) carrying the
/// reason, and nothing opens, replays onto or writes its files: an operator finds them as they were, to repair, restore
/// or drop (<see cref="CollectionRegistry.DropAsync"/> deletes the folder, the way out).
/// </summary>
public sealed class FailedCollection(string name, string folder, string reason, DateTimeOffset failedAt) : IVectorCollection
{
    public string Name { get; } = name;

    /// <summary>The collection's folder in the data directory, as found.</summary>
    public string Folder { get; } = folder;

    /// <summary>Why it could not be loaded: what is damaged and where, in words for an operator.</summary>
    public string Reason { get; } = reason;

    /// <summary>When the load failed.</summary>
    public DateTimeOffset FailedAt { get; } = failedAt;

    /// <summary>Unknown (the snapshot may be the damaged file), so asking is refused like every data-plane call: the edge
    /// reads it to validate a request before the call, and the caller is told the collection failed, not that its
    /// vectors have the wrong dimension.</summary>
    public int Dimension => throw Refusal();

    public CollectionStatus Status() => new(
        Name, Dimension: 0, DistanceMetric.L2, M: 0, EfConstruction: 0, Count: 0, NodeCount: 0, MemoryBytes: 0,
        SnapshotLogPosition: 0, LogPosition: 0, SnapshotBytes: 0, SnapshotTime: FailedAt, WritesSinceSnapshot: 0,
        VectorQuantization.None, State: CollectionState.Failed, Failure: Reason);

    /// <summary>What every call to it is refused with.</summary>
    public CollectionPreconditionException Refusal() => new(
        $"collection '{Name}' failed to load and serves no calls: {Reason}. Its files in {Folder} are left as they were; " +
        "repair or restore them and restart, or drop the collection");

    ValueTask<SearchOutcome> IVectorCollection.SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct) => throw Refusal();

    ValueTask<BatchSearchResult> IVectorCollection.SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters,
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
}
