using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Sharding;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// Upsert, Delete and Get of VectorService on a cluster collection. Writes are validated exactly as for a local
/// collection (against the spec's dimension) and published by <see cref="ShardWriter"/>; the answer comes once every
/// touched shard's stream acknowledged its records, with the last sequence per shard (pass them back as a search's
/// min_sequences to read your write).
/// <para>
/// Counts: a cluster write does not know which ids existed (the replicas apply it later), so an upsert answers
/// inserted = number of points, replaced = 0, and a delete deleted = number of ids, not_found = 0. log_position is 0.
/// </para>
/// </summary>
internal static class ClusterWrites
{
    public static async Task<UpsertResponse> UpsertAsync(ShardWriter? writer, ClusterCollectionSpec spec, UpsertRequest request, ServerCallContext context)
    {
        ShardWriter shardWriter = writer ?? throw NotAWriter();
        UpsertBatch batch = PointBatch.Read(request.Points, spec.Name, spec.Dimension);
        var sequences = await PublishAsync(() => shardWriter.UpsertAsync(spec, batch, context.CancellationToken)).ConfigureAwait(false);
        var response = new UpsertResponse { Inserted = (uint)batch.Count, Replaced = 0 };
        AddSequences(response.Sequences, sequences);
        return response;
    }

    public static async Task<DeleteResponse> DeleteAsync(ShardWriter? writer, ClusterCollectionSpec spec, DeleteRequest request, ServerCallContext context)
    {
        ShardWriter shardWriter = writer ?? throw NotAWriter();
        long[] ids = [.. request.Ids];
        var sequences = await PublishAsync(() => shardWriter.DeleteAsync(spec, ids, context.CancellationToken)).ConfigureAwait(false);
        var response = new DeleteResponse { Deleted = (uint)ids.Length, NotFound = 0 };
        AddSequences(response.Sequences, sequences);
        return response;
    }

    /// <summary>
    /// Reads the ids from this node's serving replicas. The shard service has no point lookup yet, so an id whose shard
    /// this node does not serve gives FAILED_PRECONDITION naming the shards (ask a node that holds them, e.g. from
    /// GetClusterState).
    /// </summary>
    public static GetResponse Get(ShardReplicas? replicas, ClusterCollectionSpec spec, GetRequest request, ServerCallContext context)
    {
        var byShard = request.Ids.GroupBy(id => ShardHash.ShardOf(id, spec.Shards)).ToList();
        var leases = new Dictionary<int, CollectionLease>();
        try
        {
            var notHere = new List<int>();
            foreach (var group in byShard)
            {
                if (replicas?.TryAcquireServing(spec.Name, group.Key, out _) is { } lease) leases[group.Key] = lease;
                else notHere.Add(group.Key);
            }
            if (notHere.Count > 0)
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Get on cluster collection '{spec.Name}' reads this node's replicas, and this node serves no replica of shard(s) " +
                    $"{string.Join(", ", notHere.Order())}; ask a node that holds them (GetClusterState lists them)"));

            var response = new GetResponse();
            var vector = new float[spec.Dimension];
            foreach (long id in request.Ids)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                Collection collection = leases[ShardHash.ShardOf(id, spec.Shards)].Collection;
                if (!collection.TryGet(id, vector, out int[] labels))
                {
                    response.MissingIds.Add(id);
                    continue;
                }
                var point = new Point { Id = id };
                point.Vector.Add(vector);
                point.Labels.Add(labels);
                response.Points.Add(point);
            }
            return response;
        }
        finally
        {
            foreach (CollectionLease lease in leases.Values) lease.Dispose();
        }
    }

    private static async Task<(uint Shard, ulong Sequence)[]> PublishAsync(Func<Task<(uint Shard, ulong Sequence)[]>> publish)
    {
        try
        {
            return await publish().ConfigureAwait(false);
        }
        catch (ShardWriteUnavailableException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }

    private static void AddSequences(Google.Protobuf.Collections.RepeatedField<ShardSequence> target, (uint Shard, ulong Sequence)[] sequences)
    {
        foreach (var (shard, sequence) in sequences.OrderBy(s => s.Shard))
            target.Add(new ShardSequence { Shard = shard, Sequence = sequence });
    }

    private static RpcException NotAWriter() =>
        new(new Status(StatusCode.FailedPrecondition, "this node has no shard writer (not in cluster mode)"));
}
