using AnnServer.Cluster.State;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// The JetStream streams that are the shards' write logs: one per shard (<see cref="ShardStreamNames"/>), file storage,
/// replicated <see cref="ClusterCollectionSpec.StreamReplicas"/> times, and without any age or size limit: what a
/// replica may still need is decided by the replicas, not by the clock or a size, and <see cref="ShardStreamTrimmer"/>
/// purges the front of a stream once no replica and no new replica can need it. Deleting single messages stays denied
/// (a hole in the middle of a stream would be a lost write); purges are allowed for the trimmer.
/// </summary>
public static class ShardStreams
{
    /// <summary>JetStream's error code for "stream not found" (10059).</summary>
    public const int StreamNotFoundErrorCode = 10059;

    /// <summary>How long JetStream remembers a <c>Nats-Msg-Id</c>: a publish retried within it (after a timeout or a
    /// NATS failover) is stored once. Longer than the default 2 minutes because a failover with a slow leader election
    /// and a writer's retries can together take a while.</summary>
    public static readonly TimeSpan DuplicateWindow = TimeSpan.FromMinutes(10);

    /// <summary>Creates every shard's stream of <paramref name="spec"/>; a stream that already exists with the same
    /// settings is left as it is, so a retried create is harmless.</summary>
    public static async Task CreateAsync(INatsJSContext js, ClusterCollectionSpec spec, CancellationToken ct)
    {
        for (int shard = 0; shard < spec.Shards; shard++)
            await js.CreateOrUpdateStreamAsync(Config(spec, shard), ct).ConfigureAwait(false);
    }

    /// <summary>Deletes every shard's stream of <paramref name="spec"/> and their snapshots in the object store; a
    /// stream or snapshot that is already gone is not an error.</summary>
    public static async Task DeleteAsync(INatsJSContext js, ClusterCollectionSpec spec, CancellationToken ct)
    {
        for (int shard = 0; shard < spec.Shards; shard++)
        {
            try
            {
                await js.DeleteStreamAsync(ShardStreamNames.Stream(spec.Name, shard), ct).ConfigureAwait(false);
            }
            catch (NatsJSApiException e) when (e.Error.ErrCode == StreamNotFoundErrorCode)
            {
            }
        }
        await new ShardSnapshotStore(js).DeleteAsync(spec.Name, spec.Shards, ct).ConfigureAwait(false);
    }

    /// <summary>Sequence of the last record in the shard's stream (0 when nothing was ever written).</summary>
    public static async Task<ulong> LastSequenceAsync(INatsJSContext js, string collection, int shard, CancellationToken ct) =>
        (await SequencesAsync(js, collection, shard, ct).ConfigureAwait(false)).Last;

    /// <summary>First and last sequence in the shard's stream, from one stream info request: (0, 0) when nothing was
    /// ever written, first = last + 1 when everything written was trimmed.</summary>
    public static async Task<(ulong First, ulong Last)> SequencesAsync(INatsJSContext js, string collection, int shard, CancellationToken ct)
    {
        INatsJSStream stream = await js.GetStreamAsync(ShardStreamNames.Stream(collection, shard), cancellationToken: ct).ConfigureAwait(false);
        return (stream.Info.State.FirstSeq, stream.Info.State.LastSeq);
    }

    /// <summary>The stream configuration of one shard.</summary>
    public static StreamConfig Config(ClusterCollectionSpec spec, int shard) =>
        new(ShardStreamNames.Stream(spec.Name, shard), [ShardStreamNames.Subject(spec.Name, shard)])
        {
            Description = $"AnnServer write log of collection '{spec.Name}' shard {shard} of {spec.Shards}",
            Storage = StreamConfigStorage.File,
            NumReplicas = Math.Max(1, spec.StreamReplicas),
            Retention = StreamConfigRetention.Limits,
            Discard = StreamConfigDiscard.Old,
            DuplicateWindow = DuplicateWindow,
            DenyDelete = true,
            DenyPurge = false,
        };
}
