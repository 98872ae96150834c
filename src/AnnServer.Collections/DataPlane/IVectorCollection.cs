using AnnServer.Core;

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
/// <see cref="ReadDeadlineExceededException"/>, <see cref="GetAnswerTooLargeException"/>.
/// </para>
/// </summary>
public interface IVectorCollection
{
    string Name { get; }

    /// <summary>Components of every vector of the collection.</summary>
    int Dimension { get; }

    /// <summary>Approximate top-k of one query, written to <paramref name="hits"/> (room for k). A local collection
    /// completes synchronously and allocates nothing.</summary>
    ValueTask<SearchOutcome> SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits, CancellationToken ct);

    /// <summary>Top-k of each query, in the order of the queries.</summary>
    ValueTask<BatchSearchResult> SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters, CancellationToken ct);

    /// <summary>Inserts or replaces the batch's points; returns once they are durable (as the collection's durability says).</summary>
    ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken ct);

    /// <summary>Deletes the points of <paramref name="ids"/>; returns once the deletes are durable.</summary>
    ValueTask<DeleteResult> DeleteAsync(long[] ids, CancellationToken ct);

    /// <summary>The points of <paramref name="ids"/> in their order (an id given twice comes twice), the ids not held in
    /// <see cref="PointsResult.MissingIds"/>. The answer is measured as it grows against
    /// <see cref="GetParameters.MaxAnswerBytes"/>.</summary>
    ValueTask<PointsResult> GetAsync(IReadOnlyList<long> ids, GetParameters parameters, CancellationToken ct);

    /// <summary>The collection's settings and size now.</summary>
    CollectionStatus Describe();
}
