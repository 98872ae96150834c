using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Cluster.Tests;

/// <summary>An upsert the cluster acknowledged: the stream sequence it got on one shard, and when (ms on the test's
/// clock) the acknowledgement came.</summary>
public readonly record struct AcknowledgedWrite(int Row, uint Shard, ulong Sequence, double AckedAtMs);

/// <summary>
/// Follows one replica (the copy of a shard on one node) while writes go on, and measures how long acknowledged writes
/// take to become visible there. Each round takes the writes acknowledged since <c>fromMs</c> that the previous rounds
/// did not cover, asks the node's SearchShard to wait (min_sequence) for the highest of their sequences, and records
/// the time from the earliest of their acknowledgements to the answer: no write of the round waited longer than that,
/// so the largest round is an upper bound on how long any of them took to be applied on this replica.
/// </summary>
public sealed class ReplicaVisibilityProbe(AnnServerNode node, string collection, uint shard, float[] query, Stopwatch clock)
{
    /// <summary>How long one round waits for a stalled replica before it gives up: well past the 30 s a replica could
    /// stall before (docs/cluster.md, "Failure behaviour"), so such a stall is measured, not cut short.</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(90);

    public string Replica => $"shard {shard} on {node.NodeId}";

    /// <summary>A probe for every replica of every shard (<paramref name="replicas"/>[shard]: its nodes).</summary>
    public static ReplicaVisibilityProbe[] ForEveryReplica(LocalCluster cluster, string collection, IReadOnlyList<string[]> replicas,
        float[] query, Stopwatch clock) =>
        [.. replicas.SelectMany((nodeIds, shard) => nodeIds.Select(nodeId =>
            new ReplicaVisibilityProbe(cluster.Node(nodeId), collection, (uint)shard, query, clock)))];

    /// <summary>The longest round, ms (0 before any round).</summary>
    public double LongestMs { get; private set; }

    /// <summary>Rounds done (each saw at least one new write).</summary>
    public int Rounds { get; private set; }

    // Each round's earliest acknowledgement and when the replica answered it, ms on the clock.
    private readonly List<(double EarliestAckMs, double AnsweredMs)> _rounds = [];

    /// <summary>When (ms on the clock) the replica had applied every write acknowledged before <paramref name="atMs"/>,
    /// at the latest: the answer to the last round that held one (0 when none did).</summary>
    public double AppliedAllAcknowledgedBefore(double atMs) =>
        _rounds.Where(r => r.EarliestAckMs < atMs).Select(r => r.AnsweredMs).DefaultIfEmpty(0).Max();

    /// <summary>Set when the replica did not apply a round's writes within <see cref="GiveUpAfter"/>.</summary>
    public string? Failure { get; private set; }

    /// <summary>Runs rounds until <paramref name="writesDone"/> says no more writes come and every acknowledged one is
    /// covered.</summary>
    public async Task RunAsync(ConcurrentQueue<AcknowledgedWrite> acknowledged, double fromMs, Func<bool> writesDone)
    {
        ulong covered = 0;
        while (true)
        {
            // Read before the writes: once true, the writes read next are all there will be.
            bool done = writesDone();
            ulong target = 0;
            double earliest = double.MaxValue;
            foreach (AcknowledgedWrite write in acknowledged)
            {
                if (write.Shard != shard || write.Sequence <= covered || write.AckedAtMs < fromMs) continue;
                target = Math.Max(target, write.Sequence);
                earliest = Math.Min(earliest, write.AckedAtMs);
            }
            if (target == 0)
            {
                if (done) return;
                await Task.Delay(20);
                continue;
            }
            if (!await WaitUntilAppliedAsync(target)) return;
            double answeredMs = clock.Elapsed.TotalMilliseconds;
            _rounds.Add((earliest, answeredMs));
            double tookMs = answeredMs - earliest;
            LongestMs = Math.Max(LongestMs, tookMs);
            Rounds++;
            covered = target;
        }
    }

    private async Task<bool> WaitUntilAppliedAsync(ulong sequence)
    {
        var waited = Stopwatch.StartNew();
        string last = "";
        while (waited.Elapsed < GiveUpAfter)
        {
            var request = new ShardSearchRequest { Collection = collection, Shard = shard, K = 1, MinSequence = sequence };
            request.Queries.Add(new BatchQuery { Vector = { query } });
            try
            {
                await node.Shards.SearchShardAsync(request, deadline: DateTime.UtcNow.AddSeconds(10));
                return true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.DeadlineExceeded or StatusCode.Unavailable)
            {
                // Still behind (the node waits 10 s at most per call), or not serving for a moment: ask again.
                last = $"{e.StatusCode} {e.Status.Detail}";
                if (e.StatusCode == StatusCode.Unavailable) await Task.Delay(100);
            }
        }
        Failure = $"{Replica} had not applied stream sequence {sequence} after {GiveUpAfter.TotalSeconds:F0} s ({last})";
        return false;
    }
}
