using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Protocol.V1;
using AnnServer.Services;
using Grpc.Core;

namespace AnnServer.Cluster;

/// <summary>
/// Upsert and Delete of VectorService on a cluster collection (reads: <see cref="ClusterReads"/>). Writes are validated
/// exactly as for a local collection (against the spec's dimension) and published by <see cref="ShardWriter"/>; the
/// answer comes once every touched shard's stream acknowledged its records, with the last sequence per shard (pass them
/// back as a search's or a Get's min_sequences to read your write).
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
