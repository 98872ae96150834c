using System.Diagnostics;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Sharding;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// ann.v1.ShardService: the routers' view of this node's shard replicas. SearchShard searches one local replica with a
/// batch of queries (one result per query); GetShard reads points of one local replica by id. Both first wait, within
/// the call's deadline, until the replica has applied the request's min_sequence (read-your-writes: a client passes
/// back the sequence its write was acknowledged with).
/// A replica that this node does not hold, or that is still catching up, is UNAVAILABLE (the router then tries another
/// replica); a min_sequence not reached in time is DEADLINE_EXCEEDED.
/// </summary>
public sealed class ShardGrpcService(ServerOptions limits, ShardReplicas? replicas = null) : ShardService.ShardServiceBase
{
    /// <summary>Longest wait for a min_sequence when the call has no deadline.</summary>
    private static readonly TimeSpan MaxSequenceWait = TimeSpan.FromSeconds(30);

    public override async Task<SearchBatchResponse> SearchShard(ShardSearchRequest request, ServerCallContext context)
    {
        long start = Stopwatch.GetTimestamp();
        ShardReplicas shardReplicas = RequireClusterMode();
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        RequestValidation.BatchSize(request.Queries.Count, limits);
        int shard = ShardNumber(request.Shard);

        using CollectionLease lease = LeaseServing(shardReplicas, request.Collection, shard);
        Collection collection = lease.Collection;
        for (int i = 0; i < request.Queries.Count; i++)
            RequestValidation.Vector(PackedFloats.AsSpan(request.Queries[i].Vector), collection, "queries", i);
        await ReachSequenceAsync(collection, shard, request.MinSequence, context).ConfigureAwait(false);

        SearchBatchResponse response = BatchSearch.Run(collection, request.Queries, request.K, ef, context.CancellationToken);
        response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        return response;
    }

    /// <summary>
    /// The points of <c>ids</c>, as VectorService.Get answers them, from this node's replica of the shard. Every id must
    /// hash to the shard: the router splits a Get by shard, so an id of another shard is a caller's mistake, and the
    /// replica would only ever report it missing. The shard number and the ids are checked against the spec of this
    /// node's replicas of the collection; a node that holds none of them cannot check them and answers UNAVAILABLE.
    /// </summary>
    public override async Task<GetResponse> GetShard(ShardGetRequest request, ServerCallContext context)
    {
        ShardReplicas shardReplicas = RequireClusterMode();
        RequestValidation.CollectionName(request.Collection);
        RequestValidation.NotEmpty(request.Ids.Count, "ids");
        int shard = ShardNumber(request.Shard);
        if (shardReplicas.SpecOf(request.Collection) is { } spec)
            CheckIdsOfShard(spec, shard, request);

        using CollectionLease lease = LeaseServing(shardReplicas, request.Collection, shard);
        RequestValidation.GetIds(request.Ids.Count, lease.Collection.Dimension, limits);
        await ReachSequenceAsync(lease.Collection, shard, request.MinSequence, context).ConfigureAwait(false);
        return PointLookup.Run(lease.Collection, request.Ids, limits.MaxMessageBytes, context.CancellationToken);
    }

    private static void CheckIdsOfShard(ClusterCollectionSpec spec, int shard, ShardGetRequest request)
    {
        if (shard >= spec.Shards)
            throw RequestValidation.Invalid($"shard {request.Shard} does not exist: collection '{spec.Name}' has shards 0 to {spec.Shards - 1}");
        for (int i = 0; i < request.Ids.Count; i++)
        {
            long id = request.Ids[i];
            int owner = ShardHash.ShardOf(id, spec.Shards);
            if (owner != shard)
                throw RequestValidation.Invalid(
                    $"ids[{i}] = {id} belongs to shard {owner} of collection '{spec.Name}', not to shard {shard} " +
                    $"(shard = xxHash64(id) mod {spec.Shards}): GetShard reads one shard; VectorService.Get splits ids by shard");
        }
    }

    private ShardReplicas RequireClusterMode() => replicas
        ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, "this node is not in cluster mode (--cluster-nats): it holds no shard replicas"));

    /// <summary>A shard number beyond int's range names no replica; it is clamped so the lookup fails as "not here".</summary>
    private static int ShardNumber(uint shard) => shard > int.MaxValue ? int.MaxValue : (int)shard;

    /// <summary>A lease on this node's serving replica of the shard; UNAVAILABLE saying why there is none.</summary>
    private static CollectionLease LeaseServing(ShardReplicas shardReplicas, string collection, int shard) =>
        shardReplicas.TryAcquireServing(collection, shard, out string? whyNot)
        ?? throw new RpcException(new Status(StatusCode.Unavailable, whyNot!));

    /// <summary>Completes once the replica has applied <paramref name="sequence"/> (at once when it has, or for 0);
    /// waits within the call's deadline and at most <see cref="MaxSequenceWait"/>.</summary>
    private static Task ReachSequenceAsync(Collection collection, int shard, ulong sequence, ServerCallContext context) =>
        sequence <= ReplicaStreamPosition.Of(collection).AppliedSequence ? Task.CompletedTask : WaitForSequenceAsync(collection, shard, sequence, context);

    private static async Task WaitForSequenceAsync(Collection collection, int shard, ulong sequence, ServerCallContext context)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        wait.CancelAfter(MaxSequenceWait);
        try
        {
            await ReplicaStreamPosition.Of(collection).WaitForSequenceAsync(sequence, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested || context.Deadline <= DateTime.UtcNow)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                $"the replica of collection '{collection.Name}' shard {shard} has applied stream sequence {ReplicaStreamPosition.Of(collection).AppliedSequence}; " +
                $"the call asked for min_sequence {sequence}, not reached before the deadline"));
        }
    }
}
