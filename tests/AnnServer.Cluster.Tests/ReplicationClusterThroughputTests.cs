using System.Diagnostics;
using AnnServer.Protocol.V1;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Figures for the report through the real servers, not a speed test: runs only with ANNSERVER_REPLICATION_BENCH=1.
/// Three nats-servers and three annserver nodes; a collection of 2 shards × 2 replicas, dimension 128; single-point
/// upserts sent over gRPC to one node by 1 and then 16 callers (acknowledged = stored on a quorum of the shard stream);
/// then a third replica of shard 0 is assigned and timed until it serves (catch-up from the stream, or from the
/// shard's snapshot once a replica has checkpointed).
/// </summary>
[Collection(OwnClusterCollection.Name)]
public sealed class ReplicationClusterThroughputTests(ITestOutputHelper output)
{
    private const int Dimension = 128;

    [Fact]
    public async Task MeasureUpsertsAcknowledgedByTheClusterAndANewReplicasCatchUp()
    {
        if (Environment.GetEnvironmentVariable("ANNSERVER_REPLICATION_BENCH") != "1") return;
        double seconds = double.Parse(Environment.GetEnvironmentVariable("ANNSERVER_REPLICATION_BENCH_SECONDS") ?? "10");
        await using LocalCluster cluster = await LocalCluster.StartAsync();
        AnnServerNode via = cluster.Nodes[0];
        await cluster.CreateCollectionAsync(via, "bench", Dimension, shards: 2, replicas: 2);

        // For comparison: the same nodes' plain gRPC round trip (GetClusterState, no writes) and a publish from this process.
        var probe = new List<double>();
        for (int i = 0; i < 200; i++)
        {
            long start = Stopwatch.GetTimestamp();
            await via.Cluster.GetClusterStateAsync(new GetClusterStateRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
            probe.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        probe.Sort();
        output.WriteLine($"gRPC round trip to the node (GetClusterState): p50 {probe[100]:F2} ms, p99 {probe[198]:F2} ms");

        long nextId = 0;
        foreach (int callers in new[] { 1, 16 })
        {
            long done = 0;
            var latencies = new List<double>();
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
            {
                var random = new Random(c);
                var mine = new List<double>();
                while (stopwatch.Elapsed.TotalSeconds < seconds)
                {
                    var point = new Point { Id = Interlocked.Increment(ref nextId) };
                    for (int i = 0; i < Dimension; i++) point.Vector.Add((float)random.NextDouble());
                    var request = new UpsertRequest { Collection = "bench" };
                    request.Points.Add(point);
                    long start = Stopwatch.GetTimestamp();
                    await via.Vectors.UpsertAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    Interlocked.Increment(ref done);
                }
                lock (latencies) latencies.AddRange(mine);
            })));
            latencies.Sort();
            output.WriteLine($"{callers} caller(s) over gRPC: {done / stopwatch.Elapsed.TotalSeconds:F0} acknowledged upserts/s " +
                             $"(1 point, dim {Dimension}), p50 {latencies[latencies.Count / 2]:F2} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:F2} ms");
        }
        var caughtUp = Stopwatch.StartNew();
        await cluster.WaitUntilCaughtUpAsync("bench", new Dictionary<uint, ulong>(), TimeSpan.FromMinutes(10));
        output.WriteLine($"replicas caught up with all {nextId} points {caughtUp.Elapsed.TotalSeconds:F1} s after the last acknowledgement");

        string[] holders = (await cluster.ReplicasAsync("bench"))[0];
        string newcomer = cluster.Nodes.Select(n => n.NodeId).First(id => !holders.Contains(id));
        ShardState before = (await cluster.StateAsync()).Collections.Single(c => c.Info.Name == "bench").Shards.Single(s => s.Shard == 0);
        var assign = Stopwatch.StartNew();
        await via.Cluster.AssignReplicaAsync(new AssignReplicaRequest { Collection = "bench", Shard = 0, NodeId = newcomer },
            deadline: DateTime.UtcNow.AddSeconds(30));
        await cluster.WaitUntilCaughtUpAsync("bench", new Dictionary<uint, ulong>(), TimeSpan.FromMinutes(10));
        output.WriteLine($"new replica of shard 0 on {newcomer}: {before.LastSequence} records in {assign.Elapsed.TotalSeconds:F1} s = " +
                         $"{before.LastSequence / assign.Elapsed.TotalSeconds:F0} records/s from assignment to serving (no snapshot: from the stream)");
    }
}
