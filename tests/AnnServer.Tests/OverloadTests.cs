using System.Collections.Concurrent;
using System.Diagnostics;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Xunit.Abstractions;

namespace AnnServer.Tests;

/// <summary>Many more callers than the server admits: each gets an answer or an immediate RESOURCE_EXHAUSTED, never
/// a long wait, and the server stays up with its data unchanged.</summary>
public sealed class OverloadTests(ITestOutputHelper output)
{
    private const int Dimension = 64;
    private const int Points = 2000;

    [Fact]
    public async Task ManyMoreCallersThanSlotsGetAnswersOrRejectionsAndTheDataStaysIntact()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-concurrent-searches", "2", "--max-queued-searches", "4"]);
        await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "o", Dimension = Dimension, Metric = Metric.L2, M = 8, EfConstruction = 40 });
        float[] vectors = TestData.RandomVectors(Points, Dimension, seed: 11);
        var upsert = new UpsertRequest { Collection = "o" };
        for (int i = 0; i < Points; i++)
            upsert.Points.Add(TestData.Point(i, TestData.Row(vectors, Dimension, i), i % 7));
        await server.Vectors.UpsertAsync(upsert);
        GetResponse before = await server.Vectors.GetAsync(new GetRequest { Collection = "o", Ids = { Enumerable.Range(0, Points).Select(i => (long)i) } });

        const int callers = 64;
        var statuses = new ConcurrentDictionary<StatusCode, int>();
        var okLatencies = new ConcurrentBag<double>();
        var rejectLatencies = new ConcurrentBag<double>();
        var stop = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            var random = new Random(caller);
            while (stop.Elapsed < TimeSpan.FromSeconds(3))
            {
                SearchRequest request = TestData.Search("o", TestData.Row(vectors, Dimension, random.Next(Points)), k: 10, ef: 400);
                long start = Stopwatch.GetTimestamp();
                StatusCode status;
                try
                {
                    await server.Vectors.SearchAsync(request, deadline: DateTime.UtcNow.AddSeconds(30));
                    status = StatusCode.OK;
                    okLatencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                catch (RpcException e)
                {
                    status = e.StatusCode;
                    if (status == StatusCode.ResourceExhausted) rejectLatencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            }
        })));

        GetResponse after = await server.Vectors.GetAsync(new GetRequest { Collection = "o", Ids = { Enumerable.Range(0, Points).Select(i => (long)i) } });
        HealthCheckResponse health = await server.Health.CheckAsync(new HealthCheckRequest());
        SearchResponse later = await server.Vectors.SearchAsync(TestData.Search("o", TestData.Row(vectors, Dimension, 5), k: 1));

        double[] ok = okLatencies.Order().ToArray();
        double[] rejected = rejectLatencies.Order().ToArray();
        output.WriteLine($"statuses: {string.Join(", ", statuses.Select(s => $"{s.Key} {s.Value}"))}");
        output.WriteLine($"OK latency ms: p50 {Percentile(ok, 0.5):F2} p99 {Percentile(ok, 0.99):F2} max {ok.LastOrDefault():F2}");
        output.WriteLine($"rejection latency ms: p50 {Percentile(rejected, 0.5):F2} p99 {Percentile(rejected, 0.99):F2} max {rejected.LastOrDefault():F2}");

        Assert.Equal([StatusCode.OK, StatusCode.ResourceExhausted], statuses.Keys.Order());
        Assert.True(statuses[StatusCode.OK] > 100);
        Assert.True(statuses[StatusCode.ResourceExhausted] > 100);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
        Assert.Equal(5, later.Hits[0].Id);
        Assert.Equal(before, after);
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, p * sorted.Length)];
}
