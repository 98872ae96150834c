using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Core.Payloads;
using AnnServer.Storage;

namespace AnnServer.Cluster;

/// <summary>
/// A cluster collection as the data plane sees it (docs/cluster.md): reads go through this node's
/// <see cref="ShardRouter"/> to one replica of each shard involved, writes through the <see cref="ShardWriter"/> to
/// the shards' streams. The router holds no data, so requests are checked against the collection's spec. A node with
/// role replica routes nothing: it refuses reads (FAILED_PRECONDITION) but takes writes.
/// </summary>
public sealed partial class ShardedCollection(ClusterCollectionSpec spec, ClusterCoordinator cluster, ShardWriter writer) : IVectorCollection
{
    public string Name => spec.Name;

    public int Dimension => spec.Dimension;

    public ICollectionIdSets IdSets { get; } = new ClusterIdSets(spec, cluster);

    public async ValueTask<SearchOutcome> SearchAsync(SearchQuery query, SearchParameters parameters, Memory<SearchHit> hits,
        IHitDataSink? hitData, CancellationToken ct)
    {
        BatchSearchResult result = await SearchBatchAsync([query], parameters, hitData, ct).ConfigureAwait(false);
        result.HitsOf(0).CopyTo(hits.Span);
        return new SearchOutcome(result.Found[0], result.MissingShards);
    }

    public async ValueTask<BatchSearchResult> SearchBatchAsync(IReadOnlyList<SearchQuery> queries, SearchParameters parameters,
        IHitDataSink? hitData, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(parameters.Read);
        return await cluster.Router.SearchAsync(cluster.View, spec, queries, parameters, hitData, ct).ConfigureAwait(false);
    }

    /// <summary>A cluster write does not know which ids existed (the replicas apply it later): it answers inserted = the
    /// number of points, replaced = 0, log position 0, and the last sequence per shard it went to. Payloads are encoded
    /// and checked, and their new fields' kinds reserved cluster-wide, before anything is published.</summary>
    public async ValueTask<UpsertResult> UpsertAsync(UpsertBatch batch, CancellationToken ct)
    {
        Payload?[]? payloads = batch.Payloads;
        byte[]?[]? blobs = payloads is null ? null : PayloadBlobs.OfPoints(payloads, batch.Ids);
        ShardPosition[] sequences = await writer.UpsertAsync(spec, batch, blobs, ct, payloads is null ? null :
            () => cluster.PayloadFields.ReserveAsync(spec, payloads, i => PayloadBlobs.PointName(batch.Ids, i), ct)).ConfigureAwait(false);
        return new UpsertResult(batch.Count, 0, 0) { Sequences = sequences };
    }

    /// <summary>As an upsert: deleted = the number of ids, not_found = 0.</summary>
    public async ValueTask<DeleteResult> DeleteAsync(long[] ids, CancellationToken ct)
    {
        ShardPosition[] sequences = await writer.DeleteAsync(spec, ids, ct).ConfigureAwait(false);
        return new DeleteResult(ids.Length, 0, 0) { Sequences = sequences };
    }

    /// <summary>The ids from the replicas of the shards they hash to; the merged answer is measured as a single
    /// server measures its own (<see cref="CheckAnswerSize"/>).</summary>
    public async ValueTask<PointsResult> GetAsync(IReadOnlyList<long> ids, GetParameters parameters, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(parameters.Read);
        PointsResult result = await cluster.Router.GetAsync(cluster.View, spec, ids, parameters, ct).ConfigureAwait(false);
        CheckAnswerSize(result, ids.Count, parameters.MaxAnswerBytes);
        return result;
    }

    /// <summary>As an upsert, the write does not know which ids exist: updated = the number of ids, not_found = 0. A merge
    /// that would give a point more than <see cref="PayloadLimits.MaxFieldsPerPoint"/> fields cannot be seen here (the
    /// points are on the replicas); the replica then keeps the point's payload as it was (docs/cluster.md).</summary>
    public async ValueTask<PayloadWriteResult> SetPayloadAsync(long[] ids, Payload payload, PayloadWriteMode mode, CancellationToken ct)
    {
        if (mode == PayloadWriteMode.Merge && payload.Count == 0)
            throw new ArgumentException("payload is empty: a merge needs at least one field to set (a replace with no fields clears the payload)");
        byte[]? blob = PayloadBlobs.OfChange(payload, ids.Length);
        LogPayloadMode logMode = mode == PayloadWriteMode.Merge ? LogPayloadMode.Set : LogPayloadMode.Replace;
        ShardPosition[] sequences = await writer.ChangePayloadsAsync(spec, logMode, ids, blob, ct, payload.Count == 0 ? null :
            () => cluster.PayloadFields.ReserveAsync(spec, [payload], _ => "payload", ct)).ConfigureAwait(false);
        return new PayloadWriteResult(ids.Length, 0, 0) { Sequences = sequences };
    }

    public async ValueTask<PayloadWriteResult> DeletePayloadAsync(long[] ids, IReadOnlyList<string> fields, CancellationToken ct)
    {
        byte[] blob = PayloadBlobs.OfFieldNames(fields, ids.Length);
        ShardPosition[] sequences = await writer.ChangePayloadsAsync(spec, LogPayloadMode.DeleteFields, ids, blob, ct).ConfigureAwait(false);
        return new PayloadWriteResult(ids.Length, 0, 0) { Sequences = sequences };
    }

    /// <summary>The sum of the shards' counts, each shard counted by one replica.</summary>
    public async ValueTask<long> CountAsync(SearchFilter? filter, ReadOptions read, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(read);
        return await cluster.Router.CountAsync(cluster.View, spec, filter, read, ct).ConfigureAwait(false);
    }

    /// <summary>The shards' pages merged by id (<see cref="ShardRouter.ScrollAsync"/>): the same pages, cursor and end as
    /// a single server holding all the points would give.</summary>
    public async ValueTask<ScrollResult> ScrollAsync(ScrollParameters parameters, CancellationToken ct)
    {
        RequireRouter();
        CheckMinSequences(parameters.Read);
        return await cluster.Router.ScrollAsync(cluster.View, spec, parameters, ct).ConfigureAwait(false);
    }

    public CollectionStatus Describe() => ClusterCollectionStatus.Of(cluster.View, spec);

    /// <summary>
    /// Each replica bounded only its own shard's part, each id once: the parts together, with an id asked twice counted
    /// twice, can still be over the limit. Measured after the merge because the merged answer shares the parts' points:
    /// building it costs a list of references, sending it would cost the bytes.
    /// </summary>
    private void CheckAnswerSize(PointsResult result, int idCount, long maxAnswerBytes)
    {
        long answerBytes = 0;
        for (int i = 0; i < result.Points.Count; i++)
        {
            answerBytes += GetAnswerSize.Bytes(result.Points[i]);
            if (answerBytes > maxAnswerBytes)
                throw new GetAnswerTooLargeException(maxAnswerBytes, i + 1, idCount);
        }
    }

    private void RequireRouter()
    {
        if (!cluster.Role.Routes())
            throw new CollectionPreconditionException(
                $"collection '{spec.Name}' is a cluster collection and node '{cluster.NodeId}' has role replica: send Search, SearchBatch, Get, Count and Scroll to a node with role all or router");
    }

    private void CheckMinSequences(ReadOptions read)
    {
        if (read.MinSequences is not { } positions) return;
        foreach (ShardPosition position in positions)
            if (position.Shard >= spec.Shards)
                throw new ArgumentException(
                    $"min_sequences names shard {position.Shard}, but collection '{spec.Name}' has shards 0 to {spec.Shards - 1}");
    }
}
