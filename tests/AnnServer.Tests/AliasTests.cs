using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>Aliases on a real server: create, switch (with compare-and-set), delete, list; every data-plane call through
/// an alias; the namespace they share with collections; durability across SIGKILL; switches under concurrent searches.</summary>
public sealed class AliasTests
{
    private const int Dimension = 4;
    private const long IdInA = 1, IdInB = 2;

    [Fact]
    public async Task AnAliasSendsCallsToItsCollectionUntilItIsSwitchedOrDeleted()
    {
        await using RunningServer server = await StartWithTwoCollectionsAsync();

        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });
        long beforeSwitch = await NearestAsync(server, "live");
        SwitchAliasResponse switched = await server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "live", Collection = "b" });
        long afterSwitch = await NearestAsync(server, "live");
        ListAliasesResponse listed = await server.Collections.ListAliasesAsync(new ListAliasesRequest());
        await server.Collections.DeleteAliasAsync(new DeleteAliasRequest { Alias = "live" });
        RpcException afterDelete = await Assert.ThrowsAsync<RpcException>(() => NearestAsync(server, "live"));

        Assert.Equal(IdInA, beforeSwitch);
        Assert.Equal("a", switched.PreviousCollection);
        Assert.Equal(IdInB, afterSwitch);
        Alias alias = Assert.Single(listed.Aliases);
        Assert.Equal(("live", "b"), (alias.Alias_, alias.Collection));
        Assert.Equal(StatusCode.NotFound, afterDelete.StatusCode);
        Assert.Empty((await server.Collections.ListAliasesAsync(new ListAliasesRequest())).Aliases);
        Assert.Equal(2, (await server.Collections.ListCollectionsAsync(new ListCollectionsRequest())).Collections.Count);
    }

    [Fact]
    public async Task ASwitchExpectingAnotherCollectionIsAbortedAndChangesNothing()
    {
        await using RunningServer server = await StartWithTwoCollectionsAsync();
        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });

        RpcException lost = await Assert.ThrowsAsync<RpcException>(async () => await server.Collections.SwitchAliasAsync(
            new SwitchAliasRequest { Alias = "live", Collection = "b", ExpectedCollection = "b" }));
        long unchanged = await NearestAsync(server, "live");
        await server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "live", Collection = "b", ExpectedCollection = "a" });

        Assert.Equal(StatusCode.Aborted, lost.StatusCode);
        Assert.Contains("points at collection 'a', not at the expected_collection 'b'", lost.Status.Detail);
        Assert.Equal(IdInA, unchanged);
        Assert.Equal(IdInB, await NearestAsync(server, "live"));
    }

    [Fact]
    public async Task AliasesAndCollectionsShareOneNamespace()
    {
        await using RunningServer server = await StartWithTwoCollectionsAsync();
        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });

        RpcException aliasNamedLikeACollection = await Fails(server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "b", Collection = "a" }));
        RpcException collectionNamedLikeAnAlias = await Fails(server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "live", Dimension = Dimension, Metric = Metric.L2 }));
        RpcException aliasOfAnAlias = await Fails(server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "other", Collection = "live" }));
        RpcException aliasOfNothing = await Fails(server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "other", Collection = "nope" }));
        RpcException badName = await Fails(server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "a.b", Collection = "a" }));
        RpcException switchOfNoAlias = await Fails(server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "nope", Collection = "a" }));
        RpcException deleteOfNoAlias = await Fails(server.Collections.DeleteAliasAsync(new DeleteAliasRequest { Alias = "nope" }));

        Assert.Equal(StatusCode.AlreadyExists, aliasNamedLikeACollection.StatusCode);
        Assert.Equal(StatusCode.AlreadyExists, collectionNamedLikeAnAlias.StatusCode);
        Assert.Contains("alias", collectionNamedLikeAnAlias.Status.Detail);
        Assert.Equal(StatusCode.InvalidArgument, aliasOfAnAlias.StatusCode);
        Assert.Contains("is an alias (of 'a')", aliasOfAnAlias.Status.Detail);
        Assert.Equal(StatusCode.NotFound, aliasOfNothing.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, badName.StatusCode);
        Assert.Contains("alias 'a.b' contains '.'", badName.Status.Detail);
        Assert.Equal(StatusCode.NotFound, switchOfNoAlias.StatusCode);
        Assert.Equal(StatusCode.NotFound, deleteOfNoAlias.StatusCode);
        Assert.Single((await server.Collections.ListAliasesAsync(new ListAliasesRequest())).Aliases);
    }

    [Fact]
    public async Task ACollectionAnAliasNamesCannotBeDropped()
    {
        await using RunningServer server = await StartWithTwoCollectionsAsync();
        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });

        RpcException dropped = await Fails(server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "a" }));
        RpcException droppedAlias = await Fails(server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "live" }));
        await server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "live", Collection = "b" });
        await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "a" });

        Assert.Equal(StatusCode.FailedPrecondition, dropped.StatusCode);
        Assert.Contains("'live'", dropped.Status.Detail);
        Assert.Equal(StatusCode.FailedPrecondition, droppedAlias.StatusCode);
        Assert.Contains("DeleteAlias", droppedAlias.Status.Detail);
        Assert.Equal(IdInB, await NearestAsync(server, "live"));
    }

    [Fact]
    public async Task EveryCallThatNamesACollectionAcceptsAnAlias()
    {
        await using RunningServer server = await StartWithTwoCollectionsAsync();
        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });

        await server.Vectors.UpsertAsync(new UpsertRequest { Collection = "live", Points = { TestData.Point(7, [0.5f, 0.5f, 0.5f, 0.5f]) } });
        GetResponse got = await server.Vectors.GetAsync(new GetRequest { Collection = "live", Ids = { 7, IdInA } });
        var batch = new SearchBatchRequest { Collection = "live", K = 1 };
        batch.Queries.Add(new BatchQuery { Vector = { 0.5f, 0.5f, 0.5f, 0.5f } });
        SearchBatchResponse searched = await server.Vectors.SearchBatchAsync(batch);
        await server.Vectors.DeleteAsync(new DeleteRequest { Collection = "live", Ids = { 7 } });
        CollectionInfo info = await server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "live" });
        CheckpointResponse checkpoint = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = "live" });

        Assert.Equal(2, got.Points.Count);
        Assert.Equal(7, searched.Results[0].Hits[0].Id);
        Assert.Equal("a", info.Name);
        Assert.Equal(1ul, info.Count);
        Assert.Equal("a", checkpoint.Info.Name);
    }

    [Fact]
    public async Task AliasesSurviveASigkill()
    {
        using var dataDir = new TempFolder();
        await using (ChildServer server = await ChildServer.StartAsync(dataDir.Path))
        {
            await CreateTwoCollectionsAsync(server.Collections, server.Vectors);
            await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });
            await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "gone", Collection = "a" });
            await server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "live", Collection = "b" });
            await server.Collections.DeleteAliasAsync(new DeleteAliasRequest { Alias = "gone" });
            await server.KillAsync();
        }
        await using ChildServer restarted = await ChildServer.StartAsync(dataDir.Path);

        ListAliasesResponse listed = await restarted.Collections.ListAliasesAsync(new ListAliasesRequest());
        SearchResponse found = await restarted.Vectors.SearchAsync(TestData.Search("live", [0, 0, 0, 0], k: 1));

        Alias alias = Assert.Single(listed.Aliases);
        Assert.Equal(("live", "b"), (alias.Alias_, alias.Collection));
        Assert.Equal(IdInB, found.Hits[0].Id);
    }

    [Fact]
    public async Task ADamagedAliasFileStopsTheServerNamingIt()
    {
        using var dataDir = new TempFolder();
        byte[] bytes = Collections.AliasFile.Serialize([new Collections.CollectionAlias("live", "a")]);
        bytes[^1] ^= 1;
        await File.WriteAllBytesAsync(Path.Combine(dataDir.Path, Collections.AliasFile.FileName), bytes);

        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => ChildServer.StartAsync(dataDir.Path));

        Assert.Contains("exited with code 1", e.Message);
        Assert.Contains("aliases.bin cannot be read: its checksum does not match", e.Message);
    }

    [Fact]
    public async Task SearchesThroughAnAliasNeverFailWhileItIsSwitchedAndItsOldCollectionsDropped()
    {
        await using RunningServer server = await StartWithTwoCollectionsAsync();
        await server.Collections.CreateAliasAsync(new CreateAliasRequest { Alias = "live", Collection = "a" });
        using var stop = new CancellationTokenSource();
        long searches = 0, failures = 0;
        string? firstFailure = null;
        Task[] searchers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    SearchResponse response = await server.Vectors.SearchAsync(TestData.Search("live", [0, 0, 0, 0], k: 1));
                    if (response.Hits.Count != 1) throw new InvalidOperationException($"{response.Hits.Count} hits");
                    Interlocked.Increment(ref searches);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstFailure, e.Message, null);
                }
            }
        })).ToArray();

        // Blue/green between a and b, then generations: each new collection is switched to and the previous one dropped,
        // so that searches resolve the alias to collections that are being dropped.
        for (int i = 0; i < 40; i++)
            await server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "live", Collection = i % 2 == 0 ? "b" : "a" });
        string previous = "a";
        for (int generation = 0; generation < 8; generation++)
        {
            string next = $"gen-{generation}";
            await server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = next, Dimension = Dimension, Metric = Metric.L2 });
            await server.Vectors.UpsertAsync(new UpsertRequest { Collection = next, Points = { TestData.Point(100 + generation, [0, 0, 0, 0]) } });
            await server.Collections.SwitchAliasAsync(new SwitchAliasRequest { Alias = "live", Collection = next, ExpectedCollection = previous });
            if (previous != "a")
                await server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = previous });
            previous = next;
        }
        await Task.Delay(100);
        stop.Cancel();
        await Task.WhenAll(searchers);

        Assert.True(Interlocked.Read(ref searches) > 100, $"only {searches} searches ran");
        Assert.True(failures == 0, $"{failures} of {searches + failures} searches failed; the first: {firstFailure}");
    }

    private static async Task<RunningServer> StartWithTwoCollectionsAsync()
    {
        RunningServer server = await RunningServer.StartAsync();
        await CreateTwoCollectionsAsync(server.Collections, server.Vectors);
        return server;
    }

    private static async Task CreateTwoCollectionsAsync(CollectionService.CollectionServiceClient collections, VectorService.VectorServiceClient vectors)
    {
        foreach ((string name, long id) in new[] { ("a", IdInA), ("b", IdInB) })
        {
            await collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimension = Dimension, Metric = Metric.L2 });
            await vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { TestData.Point(id, [0.1f, 0.1f, 0.1f, 0.1f]) } });
        }
    }

    private static async Task<long> NearestAsync(RunningServer server, string collection) =>
        (await server.Vectors.SearchAsync(TestData.Search(collection, [0, 0, 0, 0], k: 1))).Hits[0].Id;

    private static async Task<RpcException> Fails<T>(AsyncUnaryCall<T> call) => await Assert.ThrowsAsync<RpcException>(async () => await call);
}
