using AnnServer.Protocol.Internal.V1;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>A replica SIGKILLed under a steady search load: searches go on through its twin; the replica comes back,
/// catches up with what was written meanwhile, and answers as its twin does.</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class ReplicaKillTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const string Name = "kill_replica";

    [Fact]
    public async Task SearchesKeepSucceedingThroughTheTwinAndTheRestartedReplicaAnswersAsItsTwin()
    {
        var phases = new PhaseLog(output);
        LocalCluster cluster = await shared.BeginAsync(output);
        phases.Mark("cluster healthy");
        var data = new ClusterData(3000, Dimension, seed: 11);
        AnnServerNode router = cluster.Nodes[0];
        await cluster.CreateCollectionAsync(router, Name, Dimension, shards: 2, replicas: 2);
        Dictionary<uint, ulong> sequences = await data.UpsertAsync(router.Vectors, Name, to: 2500);
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(60));
        phases.Mark("collection created and filled");

        // The victim: a node other than the router that holds a replica.
        IReadOnlyList<string[]> replicas = await cluster.ReplicasAsync(Name);
        string victimId = replicas.SelectMany(r => r).First(id => id != router.NodeId);
        AnnServerNode victim = cluster.Node(victimId);
        int[] victimShards = Enumerable.Range(0, replicas.Count).Where(s => replicas[s].Contains(victimId)).ToArray();
        output.WriteLine($"replicas {string.Join(" | ", replicas.Select(r => string.Join(",", r)))}; router {router.NodeId}, victim {victimId} (shards {string.Join(",", victimShards)})");

        var load = new SearchLoad();
        using var stop = new CancellationTokenSource();
        Task running = load.RunAsync(router, Name, ClusterData.RandomVectors(500, Dimension, seed: 12), Dimension, callers: 4, stop.Token);
        await Task.Delay(1500);
        double killedAt = load.NowMs;
        await victim.KillAsync();
        phases.Mark($"{victimId} killed");
        Task<double> deadAfterMs = Task.Run(async () =>
        {
            // How long the cluster state keeps calling the killed node live (its heartbeat TTL, here 2 s).
            while (load.NowMs - killedAt < 15_000)
            {
                ClusterState state = await cluster.StateAsync();
                if (state.Nodes.Any(n => n.NodeId == victimId && !n.Live)) return load.NowMs - killedAt;
                await Task.Delay(50);
            }
            return double.NaN;
        });
        // Writes while the replica is down: it must catch up with them after its restart.
        ClusterData.Merge(sequences, await data.UpsertAsync(cluster.Nodes.First(n => n != victim && n != router).Vectors, Name, from: 2500));
        await Task.Delay(4000);
        await stop.CancelAsync();
        await running;
        output.WriteLine($"the cluster state called {victimId} dead {await deadAfterMs:F0} ms after the SIGKILL");

        IReadOnlyList<SearchLoad.Call> calls = load.Calls;
        SearchLoad.Call[] failed = calls.Where(c => c.Status != StatusCode.OK).ToArray();
        SearchLoad.Call[] afterKill = calls.Where(c => c.StartMs >= killedAt).ToArray();
        double lastFailureEnd = failed.Length == 0 ? killedAt : failed.Max(c => c.EndMs);
        output.WriteLine($"{calls.Count} searches, {calls.Count(c => c.StartMs < killedAt)} before the kill; {failed.Length} failed " +
            $"({string.Join("; ", failed.GroupBy(c => $"{c.Status} {c.Detail}").Select(g => $"{g.Count()}× {g.Key}"))}); " +
            $"searches stopped failing {lastFailureEnd - killedAt:F0} ms after the SIGKILL; {afterKill.Length} searches after it");
        output.WriteLine($"search latency before the kill {Percentiles(calls.Where(c => c.EndMs < killedAt))}; " +
            $"started within 2 s after it {Percentiles(calls.Where(c => c.StartMs >= killedAt - 100 && c.StartMs < killedAt + 2000))}; " +
            $"later {Percentiles(calls.Where(c => c.StartMs >= killedAt + 2000))}");
        Assert.True(afterKill.Count(c => c.Status == StatusCode.OK) > 50, "the load should have gone on after the kill");
        // Only calls in flight at the kill (plus a second of slack for the kill to land on a busy machine) may fail.
        SearchLoad.Call[] lateFailures = failed.Where(c => c.StartMs > killedAt + 1000).ToArray();
        Assert.True(lateFailures.Length == 0,
            $"{lateFailures.Length} searches started more than 1 s after the SIGKILL failed, first: {lateFailures.FirstOrDefault()}\n{router.Output}");

        // The replica restarts on its data, replays, resumes its streams, catches up, and says SERVING only then.
        var restart = System.Diagnostics.Stopwatch.StartNew();
        await victim.StartAsync(waitUntilServing: true, timeout: TimeSpan.FromSeconds(60));
        output.WriteLine($"restarted replica SERVING after {restart.ElapsedMilliseconds} ms");
        await cluster.WaitUntilCaughtUpAsync(Name, sequences, TimeSpan.FromSeconds(30));
        phases.Mark($"{victimId} restarted and caught up");

        string TwinOf(int shard) => replicas[shard].First(id => id != victimId);
        float[] queries = ClusterData.RandomVectors(50, Dimension, seed: 13);
        foreach (int shard in victimShards)
        {
            int[] rows = data.RowsOfShard(shard, 2);
            AnnServerNode twin = cluster.Node(TwinOf(shard));
            HashSet<int> onVictim = await data.HeldRowsAsync(victim, Name, (uint)shard, rows, sequences[(uint)shard]);
            HashSet<int> onTwin = await data.HeldRowsAsync(twin, Name, (uint)shard, rows, sequences[(uint)shard]);
            Assert.Equal(rows.Length, onTwin.Count);
            Assert.Equal(rows.Length, onVictim.Count);

            // Same answers: an ef as large as the shard makes both searches exhaustive, so graphs built in a different
            // order still agree exactly.
            SearchBatchResponse a = await ShardSearchAsync(victim, shard, queries, rows.Length);
            SearchBatchResponse b = await ShardSearchAsync(twin, shard, queries, rows.Length);
            Assert.Equal(b.Results.Select(r => string.Join(",", r.Hits.Select(h => $"{h.Id}:{h.Distance}"))),
                a.Results.Select(r => string.Join(",", r.Hits.Select(h => $"{h.Id}:{h.Distance}"))));
        }
        await cluster.DropQuietlyAsync(Name, output.WriteLine);
    }

    private static string Percentiles(IEnumerable<SearchLoad.Call> calls)
    {
        double[] ms = calls.Select(c => c.EndMs - c.StartMs).Order().ToArray();
        return ms.Length == 0 ? "(none)" : $"p50 {ms[ms.Length / 2]:F1} / p99 {ms[(int)(ms.Length * 0.99)]:F1} / max {ms[^1]:F1} ms ({ms.Length})";
    }

    private static async Task<SearchBatchResponse> ShardSearchAsync(AnnServerNode node, int shard, float[] queries, int ef)
    {
        var request = new ShardSearchRequest { Collection = Name, Shard = (uint)shard, K = 10, Ef = Math.Max(10, ef) };
        for (int q = 0; q < queries.Length / Dimension; q++)
            request.Queries.Add(new BatchQuery { Vector = { queries.AsSpan(q * Dimension, Dimension).ToArray() } });
        return await node.Shards.SearchShardAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
    }
}
