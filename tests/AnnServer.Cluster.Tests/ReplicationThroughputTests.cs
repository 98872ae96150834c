using System.Diagnostics;
using AnnServer.Cluster.Replication;
using AnnServer.Cluster.State;
using AnnServer.Collections;
using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Net;
using Xunit;
using Xunit.Abstractions;

namespace AnnServer.Cluster.Tests;

/// <summary>
/// Figures for the report, not a speed test: runs only with ANNSERVER_REPLICATION_BENCH=1 (passes at once otherwise).
/// Upserts acknowledged per second by the shard streams (three nats-servers, stream replicas 3, ShardWriter in process,
/// one point of dimension 128 per upsert) with 1 and 16 concurrent writers, and the catch-up speed of a new replica
/// (records applied per second from an empty start).
/// <code>ANNSERVER_REPLICATION_BENCH=1 dotnet test tests/AnnServer.Cluster.Tests --filter FullyQualifiedName~ReplicationThroughput --logger "console;verbosity=detailed"</code>
/// </summary>
public sealed class ReplicationThroughputTests(ITestOutputHelper output)
{
    private const int Dimension = 128;

    [Fact]
    public async Task MeasureAcknowledgedUpsertsAndCatchUp()
    {
        if (Environment.GetEnvironmentVariable("ANNSERVER_REPLICATION_BENCH") != "1") return;
        double seconds = double.Parse(Environment.GetEnvironmentVariable("ANNSERVER_REPLICATION_BENCH_SECONDS") ?? "10");
        await using NatsCluster nats = await NatsCluster.StartAsync();
        await using var client = nats.Connect();
        var js = client.CreateJetStreamContext();
        var spec = new ClusterCollectionSpec($"bench-{Guid.NewGuid():N}"[..20], Dimension, DistanceMetric.L2, 16, 100, VectorQuantization.None, 1, 1, 3,
            [["n"]], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await ShardStreams.CreateAsync(js, spec, CancellationToken.None);
        var writer = new ShardWriter(client.Connection);

        long nextId = 0;
        foreach (int writers in new[] { 1, 16 })
        {
            long done = 0;
            var latencies = new List<double>();
            var stopwatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            {
                var random = new Random(w);
                var mine = new List<double>();
                while (stopwatch.Elapsed.TotalSeconds < seconds)
                {
                    long id = Interlocked.Increment(ref nextId);
                    float[] vector = [.. Enumerable.Range(0, Dimension).Select(_ => (float)random.NextDouble())];
                    long start = Stopwatch.GetTimestamp();
                    await writer.UpsertAsync(spec, new UpsertBatch(Dimension, [id], vector, [null]), CancellationToken.None);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    Interlocked.Increment(ref done);
                }
                lock (latencies) latencies.AddRange(mine);
            })));
            latencies.Sort();
            output.WriteLine($"{writers} writer(s): {done / stopwatch.Elapsed.TotalSeconds:F0} acknowledged upserts/s " +
                             $"(1 point, dim {Dimension}), p50 {latencies[latencies.Count / 2]:F2} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:F2} ms");
        }

        ulong last = await ShardStreams.LastSequenceAsync(js, spec.Name, 0, CancellationToken.None);
        using var data = new TempFolder();
        await using var replicas = new ShardReplicas(client.Connection, data.Path, new DurabilityOptions(), NullLoggerFactory.Instance);
        var catchUp = Stopwatch.StartNew();
        await replicas.EnsureAsync(spec, 0, CancellationToken.None);
        await replicas.Find(spec.Name, 0)!.Serving.WaitAsync(TimeSpan.FromMinutes(5));
        output.WriteLine($"new replica: {last} records (1 point each) applied in {catchUp.Elapsed.TotalSeconds:F2} s = " +
                         $"{last / catchUp.Elapsed.TotalSeconds:F0} records/s (empty start, no snapshot)");
    }
}
