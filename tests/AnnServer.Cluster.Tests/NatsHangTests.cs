using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Cluster.Replication;
using AnnServer.Protocol.V1;
using Grpc.Core;
using NATS.Client.JetStream;
using NATS.Net;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// A NATS server FROZEN (SIGSTOP) during a stream of upserts through every node: its connections stay open and nothing
/// answers on them, as with a hung process, a paused VM or a partition that drops packets. Nothing closes a socket, so
/// only the clients' own pings can tell. Every node keeps acknowledging upserts while it is frozen, and the writes
/// acknowledged meanwhile reach every replica within seconds (<see cref="ReplicaVisibilityProbe"/>).
/// </summary>
[Collection(SharedClusterCollection.Name)]
public sealed class NatsHangTests(SharedCluster shared, ITestOutputHelper output)
{
    private const int Dimension = 16;
    private const string Name = "hang_nats";
    private const int Batch = 20, MaxBatches = 2000;

    // Writers pause this long between batches, so that the rows last the whole run (3 writers × under 20 batches/s ×
    // at most 23 s < 2,000 batches) and the probes stay small.
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(50);

    // Past the writer's 20 s retry budget: a stalled upsert ends with its acknowledgement or UNAVAILABLE, and is measured.
    private static readonly TimeSpan UpsertDeadline = TimeSpan.FromSeconds(30);

    // Frozen at least this long, so that every client on the frozen server has to notice it by itself...
    private static readonly TimeSpan FrozenAtLeast = TimeSpan.FromSeconds(8);

    // ... and at most this long: the test's time is the suite's.
    private static readonly TimeSpan FrozenAtMost = TimeSpan.FromSeconds(15);

    // A liveness bound, not a benchmark, counted from the thaw: a node notices a frozen server only by its missing
    // pongs, then reconnects, and a replica re-creates its consumer after missing heartbeats; with the client's default
    // pings that took minutes. Measured from the acknowledgement: 0.2 to 12.1 s in 7 of 10 runs; 17.9, 20.9 and 25.5 s
    // in the other three, where nats-server 2.9.10 placed the new consumers of a replica on the frozen server until the
    // thaw (docs/cluster.md, "Failure behaviour"). Such a replica applied nothing while the server hung (since session
    // 17 it may read from the stream's new leader meanwhile), so the bound allows the freeze, and the delays are printed. Session 16, in a clean-clone CI run: 30.3 s, a
    // replica stuck after the thaw (its new consumers delivered nothing for 20 s while the thawed server caught up), over
    // a bound of the freeze + 15 s (23.0 s); hence 30 s after the thaw. Session 17: a replica that gets nothing for 5 s
    // reads the missing records from the stream's leader (docs/cluster.md, "Write path"); in 13 runs the slowest delay
    // exceeded the freeze by at most 3.9 s, and every write acknowledged before the thaw was on every replica 0.0 to
    // 12.6 s after it (printed below; 12.6 s: for ~10 s after the thaw the reads got only "JetStream system temporarily
    // unavailable"). Hence 20 s after the thaw, with room over 12.6 s.
    private static readonly TimeSpan VisibleWithinAfterThaw = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task EveryNodeKeepsAcknowledgingWhileANatsServerIsFrozenAndEveryReplicaCatchesUp()
    {
        var phases = new PhaseLog(output);
        LocalCluster cluster = await shared.BeginAsync(output);
        phases.Mark("cluster healthy");
        await cluster.CreateCollectionAsync(cluster.Nodes[0], Name, Dimension, shards: 2, replicas: 2);
        phases.Mark("collection created");
        var data = new ClusterData(MaxBatches * Batch, Dimension, seed: 23);
        int victim = await ChooseVictimAsync(cluster);
        IReadOnlyList<string[]> replicas = await cluster.ReplicasAsync(Name);

        var clock = Stopwatch.StartNew();
        var acknowledged = new ConcurrentQueue<AcknowledgedWrite>();
        AnnServerNode[] nodes = cluster.Nodes;
        // Per node: (call started, acknowledged) of every acknowledged upsert, ms on the clock.
        var acks = nodes.Select(_ => new ConcurrentQueue<(double Started, double Acked)>()).ToArray();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        double frozenAt = double.MaxValue, thawedAt;
        int nextBatch = -1;
        Task[] writers = [.. nodes.Select((node, w) => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                int b = Interlocked.Increment(ref nextBatch);
                if (b >= MaxBatches) return;
                var request = new UpsertRequest { Collection = Name };
                int[] rows = [.. Enumerable.Range(b * Batch, Batch)];
                foreach (int row in rows) request.Points.Add(data.Point(row));
                double started = clock.Elapsed.TotalMilliseconds;
                try
                {
                    UpsertResponse response = await node.Vectors.UpsertAsync(request, deadline: DateTime.UtcNow + UpsertDeadline);
                    double ackedAt = clock.Elapsed.TotalMilliseconds;
                    acks[w].Enqueue((started, ackedAt));
                    AcknowledgedUpserts.Record(acknowledged, data, rows, response, shards: 2, ackedAt);
                    await Task.Delay(Pace);
                }
                catch (RpcException e)
                {
                    // Not acknowledged: the points may or may not be there; nothing to check.
                    failures.Enqueue($"{node.NodeId} (sent {(started - frozenAt) / 1000:F1} s after the freeze): {e.StatusCode} {e.Status.Detail}");
                    await Task.Delay(50);
                }
            }
        }))];

        await Task.Delay(1000);
        frozenAt = clock.Elapsed.TotalMilliseconds;
        var writersStopped = new TaskCompletionSource();
        ReplicaVisibilityProbe[] probes = ReplicaVisibilityProbe.ForEveryReplica(cluster, Name, replicas, data.Row(0), clock);
        Task[] probing;
        cluster.Nats.Freeze(victim);
        try
        {
            phases.Mark($"nats n{victim} frozen at {DateTime.UtcNow:HH:mm:ss.fff}");
            probing = [.. probes.Select(p => Task.Run(() => p.RunAsync(acknowledged, frozenAt, () => writersStopped.Task.IsCompleted)))];
            // Thawed once every node has acknowledged an upsert it sent after the freeze and every replica has applied
            // a write acknowledged after it, or after FrozenAtMost: a node or replica that stalls is measured, not waited for.
            var frozen = Stopwatch.StartNew();
            while (frozen.Elapsed < FrozenAtLeast ||
                   (frozen.Elapsed < FrozenAtMost && (acks.Any(a => !a.Any(x => x.Started >= frozenAt)) || probes.Any(p => p.Rounds == 0))))
                await Task.Delay(100);
        }
        finally
        {
            cluster.Nats.Thaw(victim);
            thawedAt = clock.Elapsed.TotalMilliseconds;
        }
        phases.Mark($"nats n{victim} thawed at {DateTime.UtcNow:HH:mm:ss.fff}");
        // Later tests on the shared cluster are better off with it current again: wait meanwhile, but not for the
        // ephemeral consumers it held when it froze, which nats-server 2.9.10's /healthz reports "not current" for up
        // to minutes (seen: 100 s; a KV watcher's consumer) while the cluster works without them.
        Task<bool> victimHealthy = HealthyWithinAsync(cluster.Nats, victim, TimeSpan.FromSeconds(20));
        await Task.Delay(1000);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        writersStopped.SetResult();
        phases.Mark("writers stopped");
        await Task.WhenAll(probing);
        phases.Mark("every replica applied every write acknowledged since the freeze");
        phases.Mark(await victimHealthy ? $"nats n{victim} healthy" : $"nats n{victim} not healthy 20 s after the thaw (running on)");

        output.WriteLine($"froze nats n{victim} for {(thawedAt - frozenAt) / 1000:F1} s; {acknowledged.Count} points acknowledged in all; " +
            $"{failures.Count} failed upserts: " + string.Join("; ", failures.GroupBy(f => f).Select(g => $"{g.Count()}× {g.Key}")));
        var silent = new List<string>();
        for (int w = 0; w < nodes.Length; w++)
        {
            (double Started, double Acked)[] calls = [.. acks[w].OrderBy(a => a.Acked)];
            (double Started, double Acked)[] whileFrozen = [.. calls.Where(c => c.Started >= frozenAt && c.Acked <= thawedAt)];
            // The longest time, from the freeze to the thaw, in which the node acknowledged nothing.
            double[] times = [frozenAt, .. calls.Select(c => c.Acked).Where(t => t > frozenAt && t < thawedAt), thawedAt];
            double longestGap = times.Zip(times.Skip(1), (a, b) => b - a).Max();
            double longestSentFrozen = calls.Where(c => c.Started >= frozenAt && c.Started < thawedAt).Select(c => c.Acked - c.Started).DefaultIfEmpty(0).Max();
            double longestSentThawed = calls.Where(c => c.Started >= thawedAt).Select(c => c.Acked - c.Started).DefaultIfEmpty(0).Max();
            output.WriteLine($"{nodes[w].NodeId}: {whileFrozen.Length} upserts sent and acknowledged while frozen; longest time without an " +
                $"acknowledgement while frozen {longestGap:F0} ms; longest upsert sent while frozen {longestSentFrozen:F0} ms, sent after the thaw {longestSentThawed:F0} ms");
            if (whileFrozen.Length == 0) silent.Add(nodes[w].NodeId);
        }
        foreach (ReplicaVisibilityProbe probe in probes)
            output.WriteLine($"{probe.Replica}: writes acknowledged since the freeze applied within {probe.LongestMs:F0} ms of their acknowledgement ({probe.Rounds} rounds)");
        double slowest = probes.Max(p => p.LongestMs);
        double bound = thawedAt - frozenAt + VisibleWithinAfterThaw.TotalMilliseconds;
        output.WriteLine($"catch-up delay (longest, any replica): {slowest:F0} ms (bound: the freeze + {VisibleWithinAfterThaw.TotalSeconds:F0} s = {bound:F0} ms)");
        double afterThaw = probes.Max(p => p.AppliedAllAcknowledgedBefore(thawedAt)) - thawedAt;
        output.WriteLine($"every write acknowledged before the thaw was applied on every replica {afterThaw:F0} ms after the thaw, at the latest " +
            "(negative: before it)");
        // The stalls the replicas' watchdogs found and their catch-ups by direct reads (docs/cluster.md, "Failure behaviour").
        foreach (string line in cluster.LinesLogged($"collection {Name} shard", "stream's leader"))
            output.WriteLine(line);

        Assert.True(silent.Count == 0,
            $"{string.Join(", ", silent)} acknowledged no upsert sent while nats n{victim} was frozen ({(thawedAt - frozenAt) / 1000:F1} s)\n{cluster.Output}");
        // Failed upserts are reported, not asserted: the only ones seen (3, in one run) were sent around the thaw, when
        // the server that comes back sets off new leader elections (docs/cluster.md, "Failure behaviour").
        string[] stalled = [.. probes.Where(p => p.Failure is not null).Select(p => p.Failure!)];
        Assert.True(stalled.Length == 0, string.Join('\n', stalled) + "\n" + cluster.Output);
        Assert.True(slowest <= bound,
            $"a write acknowledged since the freeze took {slowest:F0} ms to reach every replica (bound {bound:F0} ms)\n{cluster.Output}");

        List<string> problems = await AcknowledgedUpserts.MissingOnReplicasAsync(cluster, data, Name, replicas, acknowledged, phases);
        Assert.True(problems.Count == 0, string.Join('\n', problems) + "\n" + cluster.Output);
        await cluster.DropQuietlyAsync(Name, output.WriteLine);
    }

    private static async Task<bool> HealthyWithinAsync(NatsCluster nats, int index, TimeSpan timeout)
    {
        try
        {
            await nats.WaitUntilHealthyAsync(index, timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// The server to freeze: the one with the most annserver nodes connected (each connection there has to notice by
    /// itself that it is dead), and among those the leader of shard 0's stream (its followers have to elect another).
    /// </summary>
    private async Task<int> ChooseVictimAsync(LocalCluster cluster)
    {
        int leader;
        await using (NatsClient client = cluster.Nats.Connect())
        {
            INatsJSStream stream = await client.CreateJetStreamContext().GetStreamAsync(ShardStreamNames.Stream(Name, 0));
            leader = NatsCluster.IndexOf(stream.Info.Cluster!.Leader!);
        }
        var nodesOn = new int[cluster.Nats.Count];
        var described = new List<string>();
        for (int i = 0; i < cluster.Nats.Count; i++)
        {
            string[] names = [.. (await cluster.Nats.ClientNamesAsync(i)).Where(n => n.StartsWith("annserver-", StringComparison.Ordinal))];
            nodesOn[i] = names.Length;
            described.Add($"n{i}: {(names.Length == 0 ? "no node" : string.Join(", ", names))}{(i == leader ? " (leads shard 0's stream)" : "")}");
        }
        int victim = Enumerable.Range(0, nodesOn.Length).OrderByDescending(i => nodesOn[i]).ThenByDescending(i => i == leader).First();
        output.WriteLine($"node connections: {string.Join("; ", described)}; freezing n{victim}");
        return victim;
    }
}
