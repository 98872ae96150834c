using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core.Payloads;
using AnnServer.Core.Sharding;
using AnnServer.Storage;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace AnnServer.Cluster;

/// <summary>
/// The write path of a cluster collection, on any node: a request's points (or ids) are split by shard
/// (<see cref="ShardHash"/>), each shard's part becomes log records exactly as a local collection would write them
/// (<see cref="RequestRecords"/>, docs/log-format.md), and each record is published to its shard's stream with a fresh
/// <c>Nats-Msg-Id</c>. The call returns once JetStream has acknowledged every record (stored on a quorum of the stream's
/// replicas), with the sequence of the last record per shard: a search that passes those back as min_sequences sees
/// the write.
/// <para>
/// A publish that gets no acknowledgement (a NATS server died, a stream leader is being elected) is retried with the
/// same message id for up to <see cref="RetryBudget"/>: JetStream stores it once (duplicate window,
/// <see cref="ShardStreams.DuplicateWindow"/>) and answers the retry with the first copy's sequence. A request whose
/// call fails may have reached some shards and not others; like an unacknowledged local write, retrying it is safe.
/// </para>
/// </summary>
public sealed class ShardWriter(INatsConnection nats)
{
    /// <summary>How long one record's publish is retried before the request fails with UNAVAILABLE.</summary>
    public static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long one publish waits for its acknowledgement before it is sent again (same id). A publish sent to a
    /// stream whose leader hangs is lost without an answer, and so is its retry until the followers have elected
    /// another leader (nats-server: 4 to 9 s without the leader's heartbeats); with the client's 5 s request timeout
    /// the retry that follows the election waited up to 5 s more (writes stalled 10 s with a NATS server frozen). An
    /// acknowledgement normally takes milliseconds; one slower than this only costs a duplicate, which JetStream
    /// drops and answers with the first copy's sequence.
    /// </summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Room left in a NATS message for the headers (Nats-Msg-Id is 48 bytes with its name).</summary>
    private const int HeaderAllowance = 1024;

    /// <summary>NATS's default max_payload, assumed until the server said otherwise.</summary>
    private const long DefaultMaxPayload = 1 << 20;

    private readonly INatsJSContext _js = new NatsJSContext(nats);

    /// <summary>
    /// Largest record the writer publishes: it must fit in a NATS message (with headers), and, once the replica has
    /// added its 8-byte stream sequence, in one page of the replica's local log (<see cref="DurabilityOptions"/>).
    /// </summary>
    public int MaxRecordBytes
    {
        get
        {
            long maxPayload = nats.ServerInfo?.MaxPayload is int advertised and > 0 ? advertised : DefaultMaxPayload;
            long localPage = (1L << ShardReplicaDurability.LogPageSizeBits) - sizeof(int);
            return (int)(Math.Min(maxPayload - HeaderAllowance, localPage) - LogRecordCodec.StreamSequenceSize);
        }
    }

    /// <summary>Publishes a validated batch (its payloads encoded here); returns the last sequence of every shard it touched, by shard.</summary>
    public Task<ShardPosition[]> UpsertAsync(ClusterCollectionSpec spec, UpsertBatch batch, CancellationToken ct) =>
        UpsertAsync(spec, batch, batch.Payloads is { } payloads ? PayloadBlobs.OfPoints(payloads, batch.Ids) : null, ct);

    /// <summary>Publishes a validated batch; returns the last sequence of every shard it touched, by shard.</summary>
    /// <param name="blobs">null, or one payload blob per point (<see cref="PayloadBlobs.OfPoints"/>; null: none).</param>
    /// <param name="beforePublish">runs once the records are made (the request can no longer be refused for its size)
    /// and before the first is published: the reservation of the payloads' field kinds.</param>
    public async Task<ShardPosition[]> UpsertAsync(ClusterCollectionSpec spec, UpsertBatch batch, byte[]?[]? blobs, CancellationToken ct,
        Func<Task>? beforePublish = null)
    {
        if (batch.Dimension != spec.Dimension)
            throw new ArgumentException($"batch has dimension {batch.Dimension}, collection '{spec.Name}' has {spec.Dimension}", nameof(batch));
        int maxRecordBytes = MaxRecordBytes;
        var parts = SplitByShard(batch, blobs, spec.Shards);
        // Every shard's records are made before any is published: a point too large for a record refuses the request whole.
        var records = new LogRecord[parts.Count][];
        for (int i = 0; i < parts.Count; i++)
            records[i] = RequestRecords.Upsert(spec.Name, parts[i].Part, maxRecordBytes, parts[i].Blobs);
        if (beforePublish is not null) await beforePublish().ConfigureAwait(false);
        var publishes = new Task<ShardPosition>[parts.Count];
        for (int i = 0; i < parts.Count; i++)
            publishes[i] = PublishAsync(spec.Name, parts[i].Shard, records[i], ct);
        return await Task.WhenAll(publishes).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes a change of the payloads of <paramref name="ids"/> (a SetPayload record per shard, as a local collection
    /// logs it: <see cref="RequestRecords.SetPayload"/>, every id with the same <paramref name="blob"/>); returns the last
    /// sequence of every shard it touched, by shard.
    /// </summary>
    public async Task<ShardPosition[]> ChangePayloadsAsync(ClusterCollectionSpec spec, LogPayloadMode mode, long[] ids, byte[]? blob,
        CancellationToken ct, Func<Task>? beforePublish = null)
    {
        if (ids.Length == 0) throw new ArgumentException("a payload write needs at least one id", nameof(ids));
        int maxRecordBytes = MaxRecordBytes;
        var records = new List<(int Shard, LogRecord[] Records)>();
        foreach (var (shard, shardIds) in IdsByShard(ids, spec.Shards))
        {
            var blobs = new byte[]?[shardIds.Length];
            Array.Fill(blobs, blob);
            records.Add((shard, RequestRecords.SetPayload(spec.Name, mode, shardIds, blobs, maxRecordBytes)));
        }
        if (beforePublish is not null) await beforePublish().ConfigureAwait(false);
        var publishes = records.Select(entry => PublishAsync(spec.Name, entry.Shard, entry.Records, ct)).ToArray();
        return await Task.WhenAll(publishes).ConfigureAwait(false);
    }

    /// <summary>Publishes a delete of <paramref name="ids"/>; returns the last sequence of every shard it touched, by shard.</summary>
    public async Task<ShardPosition[]> DeleteAsync(ClusterCollectionSpec spec, long[] ids, CancellationToken ct)
    {
        if (ids.Length == 0) throw new ArgumentException("a delete needs at least one id", nameof(ids));
        int maxRecordBytes = MaxRecordBytes;
        var publishes = IdsByShard(ids, spec.Shards).Select(entry =>
            PublishAsync(spec.Name, entry.Shard, RequestRecords.Delete(spec.Name, entry.Ids, maxRecordBytes), ct)).ToArray();
        return await Task.WhenAll(publishes).ConfigureAwait(false);
    }

    /// <summary>The ids per shard, in request order within each shard, by shard number.</summary>
    private static IEnumerable<(int Shard, long[] Ids)> IdsByShard(long[] ids, int shards)
    {
        var byShard = new SortedDictionary<int, List<long>>();
        foreach (long id in ids)
        {
            int shard = ShardHash.ShardOf(id, shards);
            if (!byShard.TryGetValue(shard, out List<long>? list))
                byShard[shard] = list = [];
            list.Add(id);
        }
        return byShard.Select(entry => (entry.Key, entry.Value.ToArray()));
    }

    /// <summary>The batch's points (with their payloads and blobs) per shard, in request order within each shard, by shard number.</summary>
    private static List<(int Shard, UpsertBatch Part, byte[]?[]? Blobs)> SplitByShard(UpsertBatch batch, byte[]?[]? blobs, int shards)
    {
        var shardOf = new int[batch.Count];
        var counts = new int[shards];
        for (int i = 0; i < batch.Count; i++)
            counts[shardOf[i] = ShardHash.ShardOf(batch.Ids[i], shards)]++;
        var parts = new List<(int, UpsertBatch, byte[]?[]?)>();
        for (int shard = 0; shard < shards; shard++)
        {
            if (counts[shard] == 0) continue;
            if (counts[shard] == batch.Count)
                return [(shard, batch, blobs)];
            int dimension = batch.Dimension, n = 0;
            var ids = new long[counts[shard]];
            var vectors = new float[counts[shard] * dimension];
            var labels = new int[]?[counts[shard]];
            Payload?[]? payloads = batch.Payloads is null ? null : new Payload?[counts[shard]];
            byte[]?[]? partBlobs = blobs is null ? null : new byte[]?[counts[shard]];
            for (int i = 0; i < batch.Count; i++)
            {
                if (shardOf[i] != shard) continue;
                ids[n] = batch.Ids[i];
                batch.Vector(i).CopyTo(vectors.AsSpan(n * dimension, dimension));
                labels[n] = batch.Labels[i];
                if (payloads is not null) payloads[n] = batch.Payloads![i];
                if (partBlobs is not null) partBlobs[n] = blobs![i];
                n++;
            }
            parts.Add((shard, new UpsertBatch(dimension, ids, vectors, labels, payloads), partBlobs));
        }
        return parts;
    }

    /// <summary>Publishes the records in order (each waits for the previous one's acknowledgement, so that the stream
    /// holds them in request order) and returns the last one's sequence.</summary>
    private async Task<ShardPosition> PublishAsync(string collection, int shard, LogRecord[] records, CancellationToken ct)
    {
        string subject = ShardStreamNames.Subject(collection, shard);
        ulong sequence = 0;
        foreach (LogRecord record in records)
            sequence = await PublishOneAsync(subject, LogRecordCodec.Encode(record), ct).ConfigureAwait(false);
        return new ShardPosition(shard, sequence);
    }

    private async Task<ulong> PublishOneAsync(string subject, byte[] body, CancellationToken ct)
    {
        var headers = new NatsHeaders { ["Nats-Msg-Id"] = Guid.NewGuid().ToString("N") };
        DateTime giveUp = DateTime.UtcNow + RetryBudget;
        TimeSpan pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
                attempt.CancelAfter(AttemptTimeout);
                PubAckResponse ack = await _js.PublishAsync(subject, body, headers: headers, cancellationToken: attempt.Token).ConfigureAwait(false);
                // A retry whose first attempt was stored is answered "duplicate" with the first copy's sequence: that is
                // the acknowledgement the retry waited for (EnsureSuccess would throw it as an error).
                if (ack.Duplicate) return ack.Seq;
                ack.EnsureSuccess();
                return ack.Seq;
            }
            catch (Exception e) when (IsRetryable(e, ct) && DateTime.UtcNow + pause < giveUp)
            {
                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1000));
            }
            catch (Exception e) when (IsRetryable(e, ct))
            {
                throw new ShardWriteUnavailableException(
                    $"the write to {subject} got no acknowledgement from JetStream within {RetryBudget.TotalSeconds:F0} s ({e.Message}); " +
                    "it may or may not have been stored: retry the request (writes are idempotent)", e);
            }
        }
    }

    /// <summary>No answer, no responders, a connection or timeout error: JetStream may answer a retry. An API error
    /// (stream gone, message refused) or the caller's cancellation is final.</summary>
    private static bool IsRetryable(Exception e, CancellationToken ct) =>
        !ct.IsCancellationRequested && e is not NatsJSApiException && e is NatsException or TimeoutException or OperationCanceledException;
}
