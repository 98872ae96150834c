using AnnServer.Cluster.Replication;
using AnnServer.Cluster.Routing;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Grouping;
using AnnServer.Core.Sharding;

namespace AnnServer.Cluster;

/// <summary>
/// Reads of this node's shard replicas (<see cref="ShardReplicas"/>): what ShardService answers to other nodes' routers,
/// and what this node's own router reads in process (no loopback call). Each read first waits, within its deadline,
/// until the replica has applied the read's min_sequence (read-your-writes: a client passes back the sequence its write
/// was acknowledged with). A replica this node does not hold, or one still catching up, is a
/// <see cref="CollectionUnavailableException"/> (the router then asks another replica); a min_sequence not reached in
/// time is a <see cref="ReadDeadlineExceededException"/>.
/// </summary>
public sealed class LocalShards(ShardReplicas replicas) : ILocalShards
{
    /// <summary>Longest wait for a min_sequence when the call has no deadline.</summary>
    private static readonly TimeSpan MaxSequenceWait = TimeSpan.FromSeconds(30);

    public ClusterCollectionSpec? SpecOf(string collection) => replicas.SpecOf(collection);

    public async Task<BatchSearchResult> SearchAsync(ShardSearch search, IHitDataSink? hitData, DateTime? deadline, CancellationToken ct)
    {
        using CollectionLease lease = LeaseServing(search.Collection, search.Shard);
        await ReachSequenceAsync(lease.Collection, search.Shard, search.MinSequence, deadline, ct).ConfigureAwait(false);
        if (search.Examples is not null)
            return await ShardExampleSearch.SearchAsync(lease.Collection, search, hitData, ct).ConfigureAwait(false);
        if (!search.WantsHitData && search.ScoreThreshold is null)
            return BatchSearch.Run(lease.Collection, search.Queries, search.K, search.Ef, search.Quantization, ct);
        IVectorCollection collection = lease.Collection;
        return await collection.SearchBatchAsync(search.Queries, search.Parameters, hitData, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<HitGroup>> SearchGroupsAsync(ShardSearch search, GroupBy groupBy, IHitDataSink? hitData, DateTime? deadline,
        CancellationToken ct)
    {
        using CollectionLease lease = LeaseServing(search.Collection, search.Shard);
        await ReachSequenceAsync(lease.Collection, search.Shard, search.MinSequence, deadline, ct).ConfigureAwait(false);
        return await ShardExampleSearch.SearchGroupsAsync(lease.Collection, search, groupBy, hitData, ct).ConfigureAwait(false);
    }

    public async Task<long> CountAsync(ShardCount count, DateTime? deadline, CancellationToken ct)
    {
        using CollectionLease lease = LeaseServing(count.Collection, count.Shard);
        await ReachSequenceAsync(lease.Collection, count.Shard, count.MinSequence, deadline, ct).ConfigureAwait(false);
        return lease.Collection.CountMatching(count.Filter);
    }

    public async Task<ScrollResult> ScrollAsync(ShardScroll scroll, DateTime? deadline, CancellationToken ct)
    {
        using CollectionLease lease = LeaseServing(scroll.Collection, scroll.Shard);
        await ReachSequenceAsync(lease.Collection, scroll.Shard, scroll.MinSequence, deadline, ct).ConfigureAwait(false);
        return lease.Collection.Scroll(scroll.Page, ct);
    }

    /// <summary>
    /// The points of the ids from this node's replica of the shard. Every id must hash to the shard: the router splits a
    /// Get by shard, so an id of another shard is a caller's mistake, and the replica would only ever report it missing.
    /// </summary>
    public async Task<PointsResult> GetAsync(ShardGet get, DateTime? deadline, CancellationToken ct)
    {
        if (replicas.SpecOf(get.Collection) is { } spec)
            CheckIdsOfShard(spec, get.Shard, get.Ids);
        using CollectionLease lease = LeaseServing(get.Collection, get.Shard);
        await ReachSequenceAsync(lease.Collection, get.Shard, get.MinSequence, deadline, ct).ConfigureAwait(false);
        return PointReads.Read(lease.Collection, get.Ids, get.MaxAnswerBytes, get.Payload, get.WithVector, ct);
    }

    private static void CheckIdsOfShard(ClusterCollectionSpec spec, int shard, long[] ids)
    {
        if (shard >= spec.Shards)
            throw new ArgumentException($"shard {shard} does not exist: collection '{spec.Name}' has shards 0 to {spec.Shards - 1}");
        for (int i = 0; i < ids.Length; i++)
        {
            int owner = ShardHash.ShardOf(ids[i], spec.Shards);
            if (owner != shard)
                throw new ArgumentException(
                    $"ids[{i}] = {ids[i]} belongs to shard {owner} of collection '{spec.Name}', not to shard {shard} " +
                    $"(shard = xxHash64(id) mod {spec.Shards}): GetShard reads one shard; VectorService.Get splits ids by shard");
        }
    }

    /// <summary>A lease on this node's serving replica of the shard; UNAVAILABLE saying why there is none.</summary>
    private CollectionLease LeaseServing(string collection, int shard) =>
        replicas.TryAcquireServing(collection, shard, out string? whyNot) ?? throw new CollectionUnavailableException(whyNot!);

    /// <summary>Completes once the replica has applied <paramref name="sequence"/> (at once when it has, or for 0);
    /// waits within the deadline and at most <see cref="MaxSequenceWait"/>.</summary>
    private static Task ReachSequenceAsync(Collection collection, int shard, ulong sequence, DateTime? deadline, CancellationToken ct) =>
        sequence <= ReplicaStreamPosition.Of(collection).AppliedSequence ? Task.CompletedTask : WaitForSequenceAsync(collection, shard, sequence, deadline, ct);

    private static async Task WaitForSequenceAsync(Collection collection, int shard, ulong sequence, DateTime? deadline, CancellationToken ct)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // The call's token fires at its deadline (gRPC's, or the router's linked to its caller's).
        wait.CancelAfter(MaxSequenceWait);
        try
        {
            await ReplicaStreamPosition.Of(collection).WaitForSequenceAsync(sequence, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested || deadline <= DateTime.UtcNow)
        {
            throw new ReadDeadlineExceededException(
                $"the replica of collection '{collection.Name}' shard {shard} has applied stream sequence {ReplicaStreamPosition.Of(collection).AppliedSequence}; " +
                $"the call asked for min_sequence {sequence}, not reached before the deadline");
        }
    }
}
