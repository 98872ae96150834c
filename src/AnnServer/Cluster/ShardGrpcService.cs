using System.Diagnostics;
using AnnServer.Collections;
using AnnServer.Hosting;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// ann.v1.ShardService: the routers' view of this node's shard replicas. SearchShard searches one local replica with a
/// batch of queries (one result per query), after waiting, within the call's deadline, until the replica has applied
/// the request's min_sequence (read-your-writes: a client passes back the sequence its write was acknowledged with).
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
        if (replicas is null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "this node is not in cluster mode (--cluster-nats): it holds no shard replicas"));
        RequestValidation.CollectionName(request.Collection);
        int ef = RequestValidation.SearchParameters(request.K, request.HasEf, request.Ef, limits);
        RequestValidation.BatchSize(request.Queries.Count, limits);
        int shard = request.Shard > int.MaxValue ? int.MaxValue : (int)request.Shard;

        CollectionLease lease = replicas.TryAcquireServing(request.Collection, shard, out string? whyNot)
            ?? throw new RpcException(new Status(StatusCode.Unavailable, whyNot!));
        using (lease)
        {
            Collection collection = lease.Collection;
            for (int i = 0; i < request.Queries.Count; i++)
                RequestValidation.Vector(PackedFloats.AsSpan(request.Queries[i].Vector), collection, "queries", i);
            if (request.MinSequence > collection.AppliedSequence)
                await WaitForSequenceAsync(collection, shard, request.MinSequence, context).ConfigureAwait(false);

            SearchBatchResponse response = BatchSearch.Run(collection, request.Queries, request.K, ef, context.CancellationToken);
            response.ServerTimeMicros = (ulong)Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            return response;
        }
    }

    private static async Task WaitForSequenceAsync(Collection collection, int shard, ulong sequence, ServerCallContext context)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        wait.CancelAfter(MaxSequenceWait);
        try
        {
            await collection.WaitForSequenceAsync(sequence, wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested || context.Deadline <= DateTime.UtcNow)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded,
                $"the replica of collection '{collection.Name}' shard {shard} has applied stream sequence {collection.AppliedSequence}; " +
                $"the call asked for min_sequence {sequence}, not reached before the deadline"));
        }
    }
}
