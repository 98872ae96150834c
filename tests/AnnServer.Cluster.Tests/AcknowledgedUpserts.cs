using System.Collections.Concurrent;
using AnnServer.Core.Sharding;
using AnnServer.Protocol.V1;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// The upserts a cluster acknowledged, point by point, and the check that every replica holds them: shared by the tests
/// that take a NATS server away under a stream of upserts (<see cref="NatsKillTests"/>, <see cref="NatsHangTests"/>),
/// whose writers differ in pace and in what they time, not in what an acknowledgement promises.
/// </summary>
internal static class AcknowledgedUpserts
{
    /// <summary>Records each row of an acknowledged upsert with its shard and that shard's stream sequence.</summary>
    public static void Record(ConcurrentQueue<AcknowledgedWrite> into, ClusterData data, int[] rows, UpsertResponse response, int shards,
        double ackedAtMs)
    {
        Dictionary<uint, ulong> bySequence = response.Sequences.ToDictionary(s => s.Shard, s => s.Sequence);
        foreach (int row in rows)
        {
            uint shard = (uint)ShardHash.ShardOf(data.Ids[row], shards);
            into.Enqueue(new AcknowledgedWrite(row, shard, bySequence[shard], ackedAtMs));
        }
    }

    /// <summary>Waits (60 s at most) until every replica has applied the last acknowledged sequence of its shard, then
    /// lists each replica that lacks an acknowledged point (empty when none does).</summary>
    public static async Task<List<string>> MissingOnReplicasAsync(LocalCluster cluster, ClusterData data, string collection,
        IReadOnlyList<string[]> replicas, IReadOnlyCollection<AcknowledgedWrite> acknowledged, PhaseLog phases)
    {
        var wanted = new Dictionary<uint, ulong>();
        foreach (AcknowledgedWrite write in acknowledged)
            wanted[write.Shard] = Math.Max(wanted.GetValueOrDefault(write.Shard), write.Sequence);
        await cluster.WaitUntilCaughtUpAsync(collection, wanted, TimeSpan.FromSeconds(60));
        phases.Mark("replicas caught up");

        var problems = new List<string>();
        for (uint shard = 0; shard < replicas.Count; shard++)
        {
            int[] rows = [.. acknowledged.Where(a => a.Shard == shard).Select(a => a.Row).Order()];
            foreach (string nodeId in replicas[(int)shard])
            {
                HashSet<int> held = await data.HeldRowsAsync(cluster.Node(nodeId), collection, shard, rows, wanted.GetValueOrDefault(shard));
                int[] missing = [.. rows.Where(r => !held.Contains(r))];
                if (missing.Length > 0)
                    problems.Add($"shard {shard} on {nodeId} lacks {missing.Length} of {rows.Length} acknowledged points, e.g. ids {string.Join(", ", missing.Take(5).Select(r => data.Ids[r]))}");
            }
        }
        phases.Mark("every replica probed");
        return problems;
    }
}
