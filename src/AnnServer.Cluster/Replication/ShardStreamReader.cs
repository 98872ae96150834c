using System.Runtime.CompilerServices;
using NATS.Client.JetStream;

namespace AnnServer.Cluster.Replication;

/// <summary>
/// Reads a range of a shard stream's records by sequence, one JetStream message-get request each
/// (<c>$JS.API.STREAM.MSG.GET</c>, <see cref="StreamLeaderRequest"/>), for a replica whose consumer delivers nothing
/// (<see cref="ShardReplicaRunner"/>). Only the stream's leader answers those requests, so what they return is the
/// stream as it acknowledged writes, not a follower's copy that may lag; direct gets (<c>$JS.API.DIRECT.GET</c>) would
/// let any replica answer, and the shard streams do not allow them anyway.
/// <para>
/// Requests go out <see cref="BatchSize"/> at a time and their answers are returned in sequence order: one round trip
/// per batch, not per record, and at most one batch of records held in memory.
/// </para>
/// </summary>
internal sealed class ShardStreamReader(INatsJSContext js, string collection, int shard)
{
    /// <summary>Message-get requests in flight at once.</summary>
    public const int BatchSize = 64;

    /// <summary>JetStream's error code for "no message found" (10037), with status 404.</summary>
    private const int NoMessageFoundErrorCode = 10037;

    /// <summary>How long each request of a batch may take: while the leader hangs or is being replaced nothing
    /// answers, and the caller is better off following again than waiting out the client's 5 s request timeout.</summary>
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(2);

    private readonly string _stream = ShardStreamNames.Stream(collection, shard);

    /// <summary>
    /// The records with sequences <paramref name="from"/> to <paramref name="through"/>, in order and without gaps;
    /// fewer when the stream ends before <paramref name="through"/> (as its leader answers when the first missing record
    /// is asked for).
    /// </summary>
    /// <exception cref="StreamGapException">a sequence in the range is no longer in the stream: its front was purged
    /// past it (<see cref="ShardStreamTrimmer"/>). The records before it have been returned.</exception>
    /// <exception cref="TimeoutException">a request went unanswered for <see cref="RequestTimeout"/>.</exception>
    /// <exception cref="NatsJSApiException">the leader answered another error.</exception>
    public async IAsyncEnumerable<ShardStreamRecord> ReadAsync(ulong from, ulong through, [EnumeratorCancellation] CancellationToken ct)
    {
        var batch = new Task<byte[]>[BatchSize];
        for (ulong first = from; first <= through; first += BatchSize)
        {
            int count = (int)Math.Min(BatchSize, through - first + 1);
            using var requests = CancellationTokenSource.CreateLinkedTokenSource(ct);
            for (int i = 0; i < count; i++)
                batch[i] = StreamLeaderRequest.MessageAsync(js, _stream, first + (ulong)i, RequestTimeout, requests.Token);
            for (int i = 0; i < count; i++)
            {
                ulong sequence = first + (ulong)i;
                byte[] data;
                try
                {
                    data = await batch[i].ConfigureAwait(false);
                }
                catch (NatsJSApiException e) when (e.Error.ErrCode == NoMessageFoundErrorCode)
                {
                    await AbandonAsync(batch, i + 1, count, requests).ConfigureAwait(false);
                    // Past the end (the range was asked for from an older state), or purged from the front meanwhile.
                    // Single messages cannot be deleted (ShardStreams: DenyDelete), so nothing else leaves a hole.
                    (ulong firstInStream, ulong last) = await StreamLeaderRequest.SequencesAsync(js, _stream, RequestTimeout, ct).ConfigureAwait(false);
                    if (sequence > last) yield break;
                    throw new StreamGapException(collection, shard, sequence, Math.Max(firstInStream, sequence + 1));
                }
                catch
                {
                    await AbandonAsync(batch, i + 1, count, requests).ConfigureAwait(false);
                    throw;
                }
                yield return new ShardStreamRecord(sequence, data);
            }
        }
    }

    /// <summary>Cancels and observes the requests after one that failed, so that none is left unobserved.</summary>
    private static async Task AbandonAsync(Task<byte[]>[] batch, int next, int count, CancellationTokenSource requests)
    {
        await requests.CancelAsync().ConfigureAwait(false);
        for (int i = next; i < count; i++)
        {
            try
            {
                await batch[i].ConfigureAwait(false);
            }
            catch
            {
                // The first failure is the one reported.
            }
        }
    }
}
