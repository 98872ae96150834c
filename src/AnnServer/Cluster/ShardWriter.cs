using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Sharding;
using AnnServer.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace AnnServer.Cluster;

/// <summary>
/// The write path of a cluster collection, on any node: a request's points (or ids) are split by shard
/// (<see cref="ShardHash"/>), each shard's part becomes log records exactly as a local collection would write them
/// (<see cref="RequestRecords"/>, docs/log-format.md), and each record is published to its shard's stream. The call
/// returns once JetStream has acknowledged every record (stored on a quorum of the stream's replicas), with the
/// sequence of the last record per shard: a search that passes those back as min_sequences sees the write.
/// </summary>
public sealed class ShardWriter(INatsConnection nats)
{
    private readonly INatsJSContext _js = new NatsJSContext(nats);

    /// <summary>Publishes a validated batch; returns (shard, last sequence) for every shard it touched, by shard.</summary>
    public Task<(uint Shard, ulong Sequence)[]> UpsertAsync(ClusterCollectionSpec spec, UpsertBatch batch, CancellationToken ct)
    {
        throw new NotImplementedException("skeleton");
    }

    /// <summary>Publishes a delete of <paramref name="ids"/>; returns (shard, last sequence) for every shard it touched.</summary>
    public Task<(uint Shard, ulong Sequence)[]> DeleteAsync(ClusterCollectionSpec spec, long[] ids, CancellationToken ct)
    {
        throw new NotImplementedException("skeleton");
    }
}
