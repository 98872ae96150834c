using System.Collections.Concurrent;
using AnnServer.Cluster.Replication;
using AnnServer.Protocol.V1;
using Grpc.Core;
using NATS.Client.JetStream;
using NATS.Net;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>A NATS server SIGKILLed during a stream of upserts: every upsert the cluster acknowledged is on every replica,
/// and those acknowledged after the kill reach every replica within seconds (<see cref="ReplicaVisibilityProbe"/>).</summary>
[Collection(SharedClusterCollection.Name)]
public sealed class NatsKillTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const string Name = "kill_nats";
    private const int Writers = 3, Batch = 20, MaxBatches = 1200;

    // Writers pause this long between batches, so that on a fast machine the rows last the whole run (3 writers × 40
    // batches/s × about 8 s < 1,200 batches) and the probes at the end stay small.
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(25);

    // A liveness bound, not a benchmark: writes themselves stall for seconds while a stream leader moves, and a replica
    // whose pull died with the server used to wait 30 s for the library to notice.
    private static readonly TimeSpan VisibleWithin = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AcknowledgedUpsertsReachEveryReplicaWithinSecondsWhenANatsServerDies()
    {
        var phases = new PhaseLog(output);
        LocalCluster cluster = await shared.BeginAsync(output);
        phases.Mark("cluster healthy");
        await cluster.CreateCollectionAsync(cluster.Nodes[0], Name, Dimension, shards: 2, replicas: 2);
        phases.Mark("collection created");
        // Every row a writer may use, made up front; writer w takes batches w, w + Writers, ...
        var data = new ClusterData(MaxBatches * Batch, Dimension, seed: 21);

        // The victim: the server leading shard 0's stream, the hardest one to lose.
        int victim;
        await using (NATS.Net.NatsClient client = cluster.Nats.Connect())
        {
            INatsJSStream stream = await client.CreateJetStreamContext().GetStreamAsync(ShardStreamNames.Stream(Name, 0));
            victim = NatsCluster.IndexOf(stream.Info.Cluster!.Leader!);
        }

        IReadOnlyList<string[]> replicas = await cluster.ReplicasAsync(Name);
        var acknowledged = new ConcurrentQueue<AcknowledgedWrite>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var ackTimes = new ConcurrentQueue<double>();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        Task[] writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            AnnServerNode node = cluster.Nodes[w % cluster.Nodes.Length];
            for (int b = w; b < MaxBatches && !stop.IsCancellationRequested; b += Writers)
            {
                var request = new UpsertRequest { Collection = Name };
                int[] rows = Enumerable.Range(b * Batch, Batch).Where(r => r < data.Count).ToArray();
                foreach (int row in rows) request.Points.Add(data.Point(row));
                try
                {
                    UpsertResponse response = await node.Vectors.UpsertAsync(request, deadline: DateTime.UtcNow.AddSeconds(5));
                    double ackedAt = clock.Elapsed.TotalMilliseconds;
                    ackTimes.Enqueue(ackedAt);
                    await Task.Delay(Pace);
                    AcknowledgedUpserts.Record(acknowledged, data, rows, response, shards: 2, ackedAt);
                }
                catch (RpcException e)
                {
                    // Not acknowledged: the points may or may not be there; nothing to check.
                    failures.Enqueue($"{node.NodeId}: {e.StatusCode} {e.Status.Detail}");
                    await Task.Delay(50);
                }
            }
        })).ToArray();

        await Task.Delay(1000);
        int beforeKill = acknowledged.Count;
        double killedAt = clock.Elapsed.TotalMilliseconds;
        await cluster.Nats.KillAsync(victim);
        phases.Mark($"nats n{victim} killed");
        var writersStopped = new TaskCompletionSource();
        ReplicaVisibilityProbe[] probes = ReplicaVisibilityProbe.ForEveryReplica(cluster, Name, replicas, data.Row(0), clock);
        Task[] probing = [.. probes.Select(p => Task.Run(() => p.RunAsync(acknowledged, killedAt, () => writersStopped.Task.IsCompleted)))];
        // Down for 3 s, longer (up to 20 s) while no upsert has been acknowledged since the kill: a loaded machine can
        // be slow to elect the stream's new leader, and the check below is that writes resume, not how soon.
        var down = System.Diagnostics.Stopwatch.StartNew();
        while (down.Elapsed < TimeSpan.FromSeconds(3) || (acknowledged.Count == beforeKill && down.Elapsed < TimeSpan.FromSeconds(20)))
            await Task.Delay(100);
        int whileDown = acknowledged.Count - beforeKill;
        await cluster.Nats.RestartAsync(victim);
        phases.Mark($"nats n{victim} restarted");
        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        writersStopped.SetResult();
        phases.Mark("writers stopped");
        await Task.WhenAll(probing);
        phases.Mark("every replica applied every write acknowledged after the kill");

        output.WriteLine($"killed nats n{victim} (leader of shard 0's stream); acknowledged points: {beforeKill} before the kill, " +
            $"{whileDown} while it was down, {acknowledged.Count} in all; {failures.Count} failed upserts: " +
            string.Join("; ", failures.GroupBy(f => f).Select(g => $"{g.Count()}× {g.Key}")));
        double[] times = [.. ackTimes.Order()];
        double longestGap = times.Zip(times.Skip(1), (a, b) => (Gap: b - a, At: a)).Where(g => g.At >= killedAt - 1000).Select(g => g.Gap).DefaultIfEmpty(0).Max();
        output.WriteLine($"longest time without any acknowledged upsert around the kill: {longestGap:F0} ms");
        Assert.True(whileDown > 0, $"no upsert was acknowledged while nats n{victim} was down\n{cluster.Output}");
        foreach (ReplicaVisibilityProbe probe in probes)
            output.WriteLine($"{probe.Replica}: writes acknowledged after the kill applied within {probe.LongestMs:F0} ms of their acknowledgement ({probe.Rounds} rounds)");
        double slowest = probes.Max(p => p.LongestMs);
        output.WriteLine($"catch-up delay (longest, any replica): {slowest:F0} ms (bound {VisibleWithin.TotalSeconds:F0} s)");
        // The stalls the replicas' watchdogs found and their catch-ups by direct reads (docs/cluster.md, "Failure behaviour").
        foreach (string line in cluster.LinesLogged($"collection {Name} shard", "stream's leader"))
            output.WriteLine(line);
        string[] stalled = [.. probes.Where(p => p.Failure is not null).Select(p => p.Failure!)];
        Assert.True(stalled.Length == 0, string.Join('\n', stalled) + "\n" + cluster.Output);
        Assert.True(slowest <= VisibleWithin.TotalMilliseconds,
            $"a write acknowledged after the kill took {slowest:F0} ms to reach every replica (bound {VisibleWithin.TotalSeconds:F0} s)\n{cluster.Output}");

        List<string> problems = await AcknowledgedUpserts.MissingOnReplicasAsync(cluster, data, Name, replicas, acknowledged, phases);
        Assert.True(problems.Count == 0, string.Join('\n', problems) + "\n" + cluster.Output);
        await cluster.DropQuietlyAsync(Name, output.WriteLine);
    }
}
