using System.Diagnostics;
using AnnServer.Cluster.Replication;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace AnnServer.Cluster;

internal sealed partial class ShardReplicaRunner
{
    /// <summary>Records read by sequence in one catch-up, at most: past that, a consumer (which streams, where the
    /// direct reads make one request per record) gets another chance, and the watchdog reads the next ones if it
    /// still delivers nothing.</summary>
    private const int MaxDirectCatchUp = 10_000;

    /// <summary>How long a catch-up retries reads that failed (seen right after a frozen NATS server's thaw: "JetStream
    /// system temporarily unavailable" for a moment) before it gives up until the watchdog's next check.</summary>
    private static readonly TimeSpan DirectReadRetryBudget = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan MaxDirectReadRetryPause = TimeSpan.FromSeconds(1);

    /// <summary>
    /// After the stall watchdog stopped a consumer that delivered nothing (<see cref="RestartWhenStalledAsync"/>): reads
    /// the records after the enqueued sequence, up to <paramref name="last"/> (the stream's last sequence as its leader
    /// answered), by sequence from the stream's leader (<see cref="ShardStreamReader"/>), and applies them in order as
    /// if a consumer had delivered them: the same decoding, enqueueing and gap rule (a purged sequence throws
    /// <see cref="StreamGapException"/> and the replica re-seeds). The consumer is stopped before this starts and the
    /// next one is made after it returns, so no record is enqueued twice (the position ignores one that is anyway).
    /// Failed reads are retried from where they stopped for <see cref="DirectReadRetryBudget"/>; then the catch-up ends
    /// with a warning, the replica follows again, and the watchdog tries again an interval later.
    /// </summary>
    private async Task CatchUpByDirectReadsAsync(ReplicaStreamPosition position, ulong last, ulong from, ulong target, long started,
        CancellationToken ct)
    {
        ulong first = position.EnqueuedSequence + 1;
        if (first > last) return;
        ulong through = Math.Min(last, first + MaxDirectCatchUp - 1);
        long reading = Stopwatch.GetTimestamp();
        var inFlight = new Queue<Task>();
        ulong applied = first - 1;
        int failures = 0;
        TimeSpan pause = TimeSpan.FromMilliseconds(100);
        while (applied < through)
        {
            try
            {
                await foreach (ShardStreamRecord record in _reader.ReadAsync(applied + 1, through, ct).ConfigureAwait(false))
                {
                    await EnqueueRecordAsync(record.Data, record.Sequence, position, inFlight, ct).ConfigureAwait(false);
                    applied = record.Sequence;
                    await ServeOnceCaughtUpAsync(applied, inFlight, from, target, started).ConfigureAwait(false);
                }
                break;
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                failures++;
                if (Stopwatch.GetElapsedTime(reading) + pause > DirectReadRetryBudget)
                {
                    await DrainAsync(inFlight).ConfigureAwait(false);
                    _logger.LogWarning("Replica of collection {Collection} shard {Shard}: reading stream sequences {First} to {Through} from the " +
                        "stream's leader stopped after {Applied} ({Failures} failed reads, the last: {Message}); following again",
                        Spec.Name, Shard, first, through, applied, failures, e.Message);
                    return;
                }
                await Task.Delay(pause, ct).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxDirectReadRetryPause.Ticks));
            }
            catch (StreamGapException)
            {
                // As ApplyAsync does: what came before the hole is applied before the replica re-seeds.
                await DrainAsync(inFlight).ConfigureAwait(false);
                throw;
            }
        }
        await DrainAsync(inFlight).ConfigureAwait(false);
        // Progress, for the watchdog: the next consumer gets a whole interval to deliver.
        _watchedSequence = position.EnqueuedSequence;
        _watchedSince = Stopwatch.GetTimestamp();
        _logger.LogInformation("Replica of collection {Collection} shard {Shard}: caught up by reading stream sequences {First} to {Applied} " +
            "({Records} records) from the stream's leader in {Ms:F0} ms ({Failures} failed reads retried)", Spec.Name, Shard, first, applied,
            applied + 1 - first, Stopwatch.GetElapsedTime(reading).TotalMilliseconds, failures);
    }
}
