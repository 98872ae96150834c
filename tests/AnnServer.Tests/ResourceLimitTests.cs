using AnnServer.Collections;
using AnnServer.Core;
using AnnServer.Limits;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>Each limit answers RESOURCE_EXHAUSTED with the limit in the message, changes nothing, and the server keeps
/// serving; and the search admission behind them (the memory budget and its estimate: AnnServer.Collections.Tests).</summary>
public sealed class ResourceLimitTests
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
}
