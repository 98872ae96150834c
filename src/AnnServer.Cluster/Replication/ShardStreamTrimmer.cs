using AnnServer.Cluster.State;
using Microsoft.Extensions.Logging;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// Trims a shard's stream up to its <see cref="StreamTrimPoint"/>: a JetStream purge that keeps every message after
/// that sequence. "Keep from sequence X" is idempotent and the point only grows, so any node may trim any shard at any
/// time, and several may do it at once, without agreeing on anything: each node trims the shards it holds replicas of,
/// on a timer (<c>StreamTrimService</c>).
/// </summary>
public sealed class ShardStreamTrimmer(INatsJSContext js, ShardSnapshotStore snapshots, ILogger logger)
{
    private readonly HashSet<string> _purgeRefused = [];

    /// <summary>Messages purged by this trimmer since it was made (for the metrics).</summary>
    public long TrimmedMessages => Interlocked.Read(ref _trimmedMessages);
    private long _trimmedMessages;

    /// <summary>
    /// Trims the stream of (<paramref name="spec"/>, <paramref name="shard"/>) up to the least of the shard's stored
    /// snapshot and <paramref name="replicaDurableSequences"/> (one per assigned replica, null for one that has not
    /// reported). Returns how many messages went (0 when nothing may go or it is gone already).
    /// </summary>
    public async Task<ulong> TrimAsync(ClusterCollectionSpec spec, int shard, IReadOnlyList<ulong?> replicaDurableSequences, CancellationToken ct)
    {
        // Cheap checks first: no snapshot call while a replica has not reported.
        if (StreamTrimPoint.Compute(ulong.MaxValue, replicaDurableSequences) is null)
            return 0;
        ulong? snapshot = await snapshots.StoredSequenceAsync(spec.Name, shard, spec.CreatedUnixMs, spec.StreamReplicas, ct).ConfigureAwait(false);
        if (StreamTrimPoint.Compute(snapshot, replicaDurableSequences) is not { } point)
            return 0;
        return await TrimUpToAsync(spec.Name, shard, point, ct).ConfigureAwait(false);
    }

    /// <summary>Purges the messages of the shard's stream up to and including <paramref name="point"/>, unless they
    /// are gone already. Callers decide that <paramref name="point"/> is safe.</summary>
    public async Task<ulong> TrimUpToAsync(string collection, int shard, ulong point, CancellationToken ct)
    {
        string name = ShardStreamNames.Stream(collection, shard);
        INatsJSStream stream = await js.GetStreamAsync(name, cancellationToken: ct).ConfigureAwait(false);
        StreamState state = stream.Info.State;
        if (state.FirstSeq > point || state.Messages == 0)
            return 0;
        if (stream.Info.Config.DenyPurge && !await AllowPurgeAsync(stream, ct).ConfigureAwait(false))
            return 0;
        StreamPurgeResponse purged = await js.PurgeStreamAsync(name, new StreamPurgeRequest { Seq = point + 1 }, ct).ConfigureAwait(false);
        Interlocked.Add(ref _trimmedMessages, purged.Purged);
        logger.LogInformation("Trimmed stream {Stream} (collection {Collection} shard {Shard}) up to sequence {Sequence}: {Purged} messages purged, " +
                              "{Kept} kept", name, collection, shard, point, purged.Purged, state.LastSeq > point ? state.LastSeq - point : 0);
        return (ulong)purged.Purged;
    }

    /// <summary>
    /// Streams made before trimming existed deny purges. The update that would allow them is tried once per stream
    /// (deletes of single messages stay denied), but JetStream refuses to lift a deny (nats-server 2.9 and 2.10:
    /// "stream configuration update can not cancel deny purge"), and recreating the stream would mean copying every
    /// write under a node's feet. Such a stream is left untrimmed, and that is logged once: it keeps growing as before
    /// until its collection is dropped (docs/cluster.md, "NATS disk").
    /// </summary>
    private async Task<bool> AllowPurgeAsync(INatsJSStream stream, CancellationToken ct)
    {
        StreamConfig config = stream.Info.Config;
        string name = config.Name!;
        lock (_purgeRefused)
        {
            if (_purgeRefused.Contains(name)) return false;
        }
        try
        {
            config.DenyPurge = false;
            await js.UpdateStreamAsync(config, ct).ConfigureAwait(false);
            logger.LogInformation("Stream {Stream} denied purges (made before streams were trimmed); updated to allow them", name);
            return true;
        }
        catch (NatsJSApiException e)
        {
            lock (_purgeRefused)
                _purgeRefused.Add(name);
            logger.LogWarning("Stream {Stream} was made by an earlier version that denied purges, and JetStream refuses to allow them now ({Message}): " +
                              "it is not trimmed, and keeps every write until its collection is dropped", name, e.Error.Description);
            return false;
        }
    }
}
