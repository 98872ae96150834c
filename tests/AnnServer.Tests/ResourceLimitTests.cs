using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Limits;
using AnnServer.Protocol.V1;
using Grpc.Core;
using Xunit.Abstractions;

namespace AnnServer.Tests;

/// <summary>Each limit answers RESOURCE_EXHAUSTED with the limit in the message, changes nothing, and the server keeps
/// serving; and the pieces behind them (search admission, memory budget, memory estimate).</summary>
public sealed class ResourceLimitTests(ITestOutputHelper output)
{
    private static async Task<RpcException> Exhausted<T>(AsyncUnaryCall<T> call, params string[] mentions)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        foreach (string mention in mentions)
            Assert.Contains(mention, e.Status.Detail);
        return e;
    }

    private static CreateCollectionRequest Create(string name, uint dimension = 4) => new() { Name = name, Dimension = dimension, Metric = Metric.L2 };

    private static UpsertRequest Upsert(string collection, IEnumerable<long> ids, int dimension = 4)
    {
        var request = new UpsertRequest { Collection = collection };
        foreach (long id in ids)
            request.Points.Add(TestData.Point(id, TestData.RandomVectors(1, dimension, seed: (int)id)));
        return request;
    }

    private static IEnumerable<long> Ids(long from, int count) => Enumerable.Range(0, count).Select(i => from + i);

    [Fact]
    public async Task CreatingMoreThanMaxCollectionsIsExhaustedUntilOneIsDropped()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-collections", "2"]);
        await server.Collections.CreateCollectionAsync(Create("a"));
        await server.Collections.CreateCollectionAsync(Create("b"));

        await Exhausted(server.Collections.CreateCollectionAsync(Create("c")), "2 collections", "--max-collections 2");
        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());
        await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "a" });
        await server.Collections.CreateCollectionAsync(Create("c"));

        Assert.Equal(["a", "b"], list.Collections.Select(c => c.Name));
        Assert.False(Directory.Exists(Path.Combine(server.DataDir, "c")) && list.Collections.Count > 2);
    }

    [Fact]
    public async Task ConcurrentCreatesCannotPassMaxCollectionsTogether()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-collections", "3"]);
        var calls = Enumerable.Range(0, 12).Select(async i =>
        {
            try { await server.Collections.CreateCollectionAsync(Create($"p{i}")); return StatusCode.OK; }
            catch (RpcException e) { return e.StatusCode; }
        });
        StatusCode[] statuses = await Task.WhenAll(calls);
        ListCollectionsResponse list = await server.Collections.ListCollectionsAsync(new ListCollectionsRequest());

        Assert.Equal(3, statuses.Count(s => s == StatusCode.OK));
        Assert.Equal(9, statuses.Count(s => s == StatusCode.ResourceExhausted));
        Assert.Equal(3, list.Collections.Count);
    }

    [Fact]
    public async Task AnUpsertThatWouldPassMaxPointsIsRejectedWholeAndReplacementsStillFit()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-points-per-collection", "10"]);
        await server.Collections.CreateCollectionAsync(Create("c"));
        await server.Vectors.UpsertAsync(Upsert("c", Ids(0, 8)));

        await Exhausted(server.Vectors.UpsertAsync(Upsert("c", Ids(5, 6))), // 3 replacements, 3 new: 11 points
            "collection 'c' has 8 points and this upsert would add 3", "at most 10", "--max-points-per-collection");
        CollectionInfo afterRefusal = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        await server.Vectors.UpsertAsync(Upsert("c", Ids(6, 4)));  // 2 replacements, 2 new: exactly 10
        await server.Vectors.UpsertAsync(Upsert("c", Ids(0, 10))); // all replacements at the limit
        await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c", Ids = { 0 } });
        await server.Vectors.UpsertAsync(Upsert("c", [100]));      // room again after a delete
        CollectionInfo final = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });

        Assert.Equal(8ul, afterRefusal.Count);
        Assert.Equal(8ul, afterRefusal.NodeCount);
        Assert.Equal(10ul, final.Count);
    }

    [Fact]
    public async Task ConcurrentUpsertsCannotPassMaxPointsTogether()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-points-per-collection", "50"]);
        await server.Collections.CreateCollectionAsync(Create("c"));
        var calls = Enumerable.Range(0, 10).Select(async i =>
        {
            try { await server.Vectors.UpsertAsync(Upsert("c", Ids(i * 100, 10))); return StatusCode.OK; }
            catch (RpcException e) { return e.StatusCode; }
        });
        StatusCode[] statuses = await Task.WhenAll(calls);
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });

        Assert.Equal(5, statuses.Count(s => s == StatusCode.OK));
        Assert.Equal(5, statuses.Count(s => s == StatusCode.ResourceExhausted));
        Assert.Equal(50ul, info.Count);
    }

    [Fact]
    public async Task WritesBeyondTheMemoryBudgetAreExhaustedAndChangeNothing()
    {
        // Room for collection "c" (128-d) with 500 points and 40 kB more: its first storage chunks are most of it.
        long budget = MemoryEstimate.UpsertBytes(128, 16, VectorQuantization.None, 0, 500) + 40_000;
        await using RunningServer server = await RunningServer.StartAsync(args: ["--memory-budget-bytes", budget.ToString()]);
        await server.Collections.CreateCollectionAsync(Create("c", 128));
        await server.Vectors.UpsertAsync(Upsert("c", Ids(0, 500), 128));

        await Exhausted(server.Vectors.UpsertAsync(Upsert("c", Ids(1000, 2000), 128)),
            $"memory budget is {budget} bytes (--memory-budget-bytes)", "upsert of 2000 points needs about", "nothing was written");
        await Exhausted(server.Collections.CreateCollectionAsync(Create("d")), "new collection (its first storage chunks) needs about");
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        await server.Vectors.UpsertAsync(Upsert("c", Ids(1000, 100), 128)); // a small write still fits
        await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "c" });
        await Task.Delay(MemoryBudget.RetryInterval * 2);
        await server.Collections.CreateCollectionAsync(Create("d")); // the drop is seen at the next measurement

        Assert.Equal(500ul, info.Count);
        Assert.Equal(500ul, info.NodeCount);
        Assert.InRange((long)info.MemoryBytes, budget - 120_000, budget - 20_000); // the estimate of the first 500 was close
    }

    [Fact]
    public async Task TheMemoryBudgetAndSearchSlotsAreInTheMetrics()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--memory-budget-bytes", "100000000", "--max-concurrent-searches", "3"]);
        string metrics = await server.GetMetricsTextAsync();

        Assert.Contains("annserver_memory_budget_bytes 100000000", metrics);
        Assert.Contains("annserver_searches_running 0", metrics);
        Assert.Contains("annserver_searches_queued 0", metrics);
        Assert.Contains("annserver_searches_rejected_total 0", metrics);
    }

    [Fact]
    public async Task SearchAdmissionRunsQueuesThenRefusesAtOnce()
    {
        var admission = new SearchAdmission(maxRunning: 1, maxQueued: 1);

        ValueTask<bool> first = admission.TryEnterAsync(CancellationToken.None);
        ValueTask<bool> second = admission.TryEnterAsync(CancellationToken.None);
        ValueTask<bool> third = admission.TryEnterAsync(CancellationToken.None);

        Assert.True(first.IsCompletedSuccessfully);
        Assert.False(second.IsCompleted);
        Assert.True(third.IsCompletedSuccessfully);
        Assert.Equal((1, 1, 1L), (admission.Running, admission.Queued, admission.Rejected));
        Assert.True(await first);
        Assert.False(await third);
        admission.Exit();
        Assert.True(await second);
        Assert.Equal((1, 0), (admission.Running, admission.Queued));
        admission.Exit();
        Assert.Equal(0, admission.Running);
    }

    [Fact]
    public async Task ACancelledWaiterGivesUpItsPlaceInTheQueue()
    {
        var admission = new SearchAdmission(maxRunning: 1, maxQueued: 1);
        Assert.True(await admission.TryEnterAsync(CancellationToken.None));
        using var cancel = new CancellationTokenSource();

        ValueTask<bool> waiting = admission.TryEnterAsync(cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        int queuedAfterCancel = admission.Queued;
        ValueTask<bool> next = admission.TryEnterAsync(CancellationToken.None);

        Assert.Equal(0, queuedAfterCancel);
        Assert.False(next.IsCompleted); // queued in the freed place, not refused
        admission.Exit();
        Assert.True(await next);
    }

    [Fact]
    public void TheMemoryBudgetCountsAdmittedWritesUntilAMeasurementIncludesThem()
    {
        long held = 0;
        var budget = new MemoryBudget(1000, () => held);

        Assert.True(budget.TryReserve(600, out _));
        Assert.False(budget.TryReserve(600, out long used)); // 600 reserved, not yet measured
        budget.Release(600, applied: true);                  // applied: still counted ...
        held = 600;                                          // ... and now held by the collections
        Assert.Equal(600, used);
        Assert.False(budget.TryReserve(500, out _));         // a measurement under 100 ms old is not repeated
        Thread.Sleep(MemoryBudget.RetryInterval * 2);
        Assert.True(budget.TryReserve(400, out used));       // measured 600, the applied write's reservation dropped
        budget.Release(400, applied: false);                 // failed: uncounted at once
        Assert.Equal(600, budget.UsedBytes);
    }

    [Fact]
    public void ConcurrentReservationsNeverPassTheBudget()
    {
        var budget = new MemoryBudget(10_000, () => 0);
        int admitted = 0;
        Parallel.For(0, 1000, _ => { if (budget.TryReserve(100, out _)) Interlocked.Increment(ref admitted); });
        Assert.Equal(100, admitted);
    }

    [Theory]
    [InlineData(16, 16, 0, 1)]
    [InlineData(16, 16, 1000, 2000)]
    [InlineData(128, 16, 0, 3000)]
    [InlineData(128, 32, 1000, 2000)]
    [InlineData(784, 16, 200, 800)]
    public void TheEstimateOfAnUpsertIsWithinATenthOfWhatTheIndexThenCounts(int dimension, int m, int before, int added)
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, Metric = DistanceMetric.L2, M = m, EfConstruction = 16 });
        float[] vectors = TestData.RandomVectors(before + added, dimension, seed: 3);
        long[] ids = Enumerable.Range(0, before + added).Select(i => (long)i).ToArray();
        if (before > 0)
            index.UpsertMany(vectors.AsMemory(0, before * dimension), ids.AsMemory(0, before));
        long memoryBefore = index.MemoryBytes;
        index.UpsertMany(vectors.AsMemory(before * dimension), ids.AsMemory(before));
        long measured = index.MemoryBytes - memoryBefore;
        long estimated = MemoryEstimate.UpsertBytes(dimension, m, VectorQuantization.None, before, added);
        output.WriteLine($"dimension {dimension}, M {m}, {before} + {added} points: measured {measured} B, estimated {estimated} B");

        Assert.InRange((double)estimated / measured, 0.9, 1.1);
    }
}
