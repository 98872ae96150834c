using AnnServer.Core;
using AnnServer.Core.Grouping;
using AnnServer.Core.Payloads;

namespace AnnServer.Collections;

/// <summary>
/// What a client can ask of one collection: the data plane, on domain types. A collection on this node
/// (<see cref="Collection"/>) and a collection sharded over a cluster (AnnServer.Cluster's ShardedCollection) are two
/// implementations; the gRPC services map messages onto this interface and never ask which one they hold. The choice is
/// made once, when <see cref="ICollectionCatalog.Open"/> resolves the name (qdrant's ShardOperation trait has the same
/// shape: local, remote and proxy shards behind one trait).
/// <para>
/// Requests arrive validated at the edge: vectors have <see cref="Dimension"/> finite components, 1 ≤ k ≤ ef within the
/// server's limits, batches and id lists non-empty and within the limits. Failures are the exceptions the edge maps to
/// statuses: <see cref="ArgumentException"/>, <see cref="CollectionNotFoundException"/>,
/// <see cref="CollectionUnavailableException"/>, <see cref="CollectionPreconditionException"/>,
/// <see cref="ReadDeadlineExceededException"/>, <see cref="GetAnswerTooLargeException"/>, <see cref="LimitExceededException"/>.
/// </para>
/// <para>
/// Payloads: a point's payload is typed fields without a declared schema (a field's kind is fixed by its first value in
/// the collection). Filters (<see cref="SearchFilter.Where"/>) arrive built but not compiled: the collection compiles
/// them against its fields and refuses a bad one (<see cref="ArgumentException"/>) before anything is read or written.
/// A payload write whose value kind conflicts with its field's (or with a write in flight) is refused whole with an
/// <see cref="ArgumentException"/> naming the field and both kinds, and changes nothing.
/// </para>
/// </summary>
public interface IVectorCollection
{
    string Name { get; }

    /// <summary>Components of every vector of the collection.</summary>
    int Dimension { get; }

    /// <summary>Approximate top-k of one query, written to <paramref name="hits"/> (room for k), none farther than the
    /// parameters' score threshold. What each hit carries besides (payload, vector: see <see cref="SearchParameters"/>)
    /// goes to <paramref name="hitData"/> (null when nothing is asked). A local collection completes synchronously and,
    /// with no payload or vector asked, allocates nothing.</summary>
    ValueTask<SearchOutcome> SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits, IHitDataSink? hitData,
        CancellationToken ct);

    /// <summary>Top-k of each query, in the order of the queries; hit data as for <see cref="SearchAsync"/>, by the hit's
    /// place in <see cref="BatchSearchResult.Hits"/>.</summary>
    ValueTask<BatchSearchResult> SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters, IHitDataSink? hitData,
        CancellationToken ct);

    /// <summary>The top-k recommended by the query's examples (<see cref="RecommendQuery"/>, <see cref="RecommendStrategy"/>),
    /// written to <paramref name="hits"/> (room for k) as <see cref="SearchAsync"/> writes them; the example points are
    /// never among them. Example ids not held are listed in the outcome, not an error, unless no positive is left
    /// (<see cref="ArgumentException"/> naming positive_ids).</summary>
    ValueTask<RecommendOutcome> RecommendAsync(RecommendQuery query, SearchParameters parameters, Memory<SearchHit> hits, IHitDataSink? hitData,
        CancellationToken ct);

    /// <summary>The nearest points to the query grouped by a payload field (<see cref="GroupBy"/>), grouped inside the search;
    /// hit data as <see cref="GroupedSearchResult"/> numbers the hits. The parameters' k is not used: the groups bound the
    /// answer.</summary>
    ValueTask<GroupedSearchResult> SearchGroupsAsync(SearchQuery query, GroupBy groupBy, SearchParameters parameters, IHitDataSink? hitData,
        CancellationToken ct);

    /// <summary><see cref="RecommendAsync"/> grouped as <see cref="SearchGroupsAsync"/> groups.</summary>
    ValueTask<GroupedSearchResult> RecommendGroupsAsync(RecommendQuery query, GroupBy groupBy, SearchParameters parameters, IHitDataSink? hitData,
        CancellationToken ct);

    /// <summary>Inserts or replaces the batch's points; returns once they are durable (as the collection's durability says).</summary>
    ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken ct);

    /// <summary>Deletes the points of <paramref name="ids"/>; returns once the deletes are durable.</summary>
    ValueTask<DeleteResult> DeleteAsync(long[] ids, CancellationToken ct);

    /// <summary>The points of <paramref name="ids"/> in their order (an id given twice comes twice), the ids not held in
    /// <see cref="PointsResult.MissingIds"/>. The answer is measured as it grows against
    /// <see cref="GetParameters.MaxAnswerBytes"/>.</summary>
    ValueTask<PointsResult> GetAsync(IReadOnlyList<long> ids, GetParameters parameters, CancellationToken ct);

    /// <summary>Sets (<see cref="PayloadWriteMode.Merge"/>) or replaces the payload of the existing ids among
    /// <paramref name="ids"/> with <paramref name="payload"/>; returns once the write is durable. Unknown ids are counted.</summary>
    ValueTask<PayloadWriteResult> SetPayloadAsync(long[] ids, Payload payload, PayloadWriteMode mode, CancellationToken ct);

    /// <summary>Removes the fields named in <paramref name="fields"/> from the payloads of the existing ids; returns once
    /// the write is durable.</summary>
    ValueTask<PayloadWriteResult> DeletePayloadAsync(long[] ids, IReadOnlyList<string> fields, CancellationToken ct);

    /// <summary>The exact number of live points passing <paramref name="filter"/> (null: all of them).</summary>
    ValueTask<long> CountAsync(SearchFilter? filter, ReadOptions read, CancellationToken ct);

    /// <summary>One page of the live points passing the filter, ascending by id (<see cref="ScrollParameters"/>).</summary>
    ValueTask<ScrollResult> ScrollAsync(ScrollParameters parameters, CancellationToken ct);

    /// <summary>The collection's settings and size now.</summary>
    CollectionStatus Describe();

    /// <summary>The stored id sets its filters can name (<see cref="ICollectionIdSets"/>; not durable).</summary>
    ICollectionIdSets IdSets { get; }
}
