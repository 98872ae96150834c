using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>Payload writes over gRPC (SetPayload merge and replace, DeletePayload, ClearPayload, Upsert's payload),
/// what is refused and that a refused write changes nothing, and what survives a restart, a checkpoint and a compaction.</summary>
public sealed class PayloadWriteTests
{
    private const string Name = "w";

    private static async Task<RunningServer> StartWithPointsAsync(string? dataDir = null, params string[] args)
    {
        RunningServer server = await RunningServer.StartAsync(dataDir, args: args);
        await PayloadData.CreateAsync(server, Name);
        await server.Vectors.UpsertAsync(PayloadData.Upsert(Name, 0, 20));
        return server;
    }

    private static async Task<Google.Protobuf.Collections.MapField<string, PayloadValue>> PayloadAsync(RunningServer server, long id) =>
        (await server.Vectors.GetAsync(new GetRequest { Collection = Name, Ids = { id } })).Points.Single().Payload;

    [Fact]
    public async Task AMergeSetsTheGivenFieldsAndKeepsTheOthers()
    {
        await using RunningServer server = await StartWithPointsAsync();
        var request = new SetPayloadRequest { Collection = Name, Ids = { 1, 2, 999 } };
        request.Payload["color"] = new PayloadValue { Keyword = "violet" };
        request.Payload["rating"] = new PayloadValue { DoubleValue = 4.5 };

        PayloadWriteResponse response = await server.Vectors.SetPayloadAsync(request);

        var expected = PayloadData.PayloadOf(1);
        expected["color"] = new PayloadValue { Keyword = "violet" };
        expected["rating"] = new PayloadValue { DoubleValue = 4.5 };
        Assert.Equal((2u, 1u), (response.Updated, response.NotFound));
        Assert.True(response.LogPosition > 0);
        Assert.Equal(expected, await PayloadAsync(server, 1));
        var violet = new Filter { Must = { PayloadData.Match("color", new Match { Keyword = "violet" }) } };
        Assert.Equal(2ul, (await server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = violet })).Count);
    }

    [Fact]
    public async Task AReplaceLeavesExactlyTheGivenFieldsAndClearLeavesNone()
    {
        await using RunningServer server = await StartWithPointsAsync();
        var replace = new SetPayloadRequest { Collection = Name, Ids = { 3 }, Mode = PayloadWriteMode.Replace };
        replace.Payload["stock"] = new PayloadValue { Integer = 99 };

        await server.Vectors.SetPayloadAsync(replace);
        var afterReplace = await PayloadAsync(server, 3);
        PayloadWriteResponse cleared = await server.Vectors.ClearPayloadAsync(new ClearPayloadRequest { Collection = Name, Ids = { 3, 4 } });

        Assert.Equal(["stock"], afterReplace.Keys);
        Assert.Equal(99, afterReplace["stock"].Integer);
        Assert.Equal(2u, cleared.Updated);
        Assert.Empty(await PayloadAsync(server, 3));
        Assert.Empty(await PayloadAsync(server, 4));
    }

    [Fact]
    public async Task DeletePayloadRemovesTheNamedFieldsOnly()
    {
        await using RunningServer server = await StartWithPointsAsync();

        await server.Vectors.DeletePayloadAsync(new DeletePayloadRequest { Collection = Name, Ids = { 5 }, Fields = { "color", "never-written" } });

        var expected = PayloadData.PayloadOf(5);
        expected.Remove("color");
        Assert.Equal(expected, await PayloadAsync(server, 5));
        var isNull = new Filter { Must = { new Condition { IsNull = new IsNullCondition { Key = "color" } } } };
        Assert.Equal(1ul, (await server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = isNull })).Count);
    }

    [Fact]
    public async Task AnUpsertReplacesThePayloadWithItsOwn()
    {
        await using RunningServer server = await StartWithPointsAsync();

        await server.Vectors.UpsertAsync(new UpsertRequest { Collection = Name, Points = { TestData.Point(6, PayloadData.VectorOf(6)) } });

        Assert.Empty(await PayloadAsync(server, 6));
    }

    [Fact]
    public async Task AValueOfAnotherKindThanItsFieldIsRefusedAndTheBatchChangesNothing()
    {
        await using RunningServer server = await StartWithPointsAsync();
        UpsertRequest upsert = PayloadData.Upsert(Name, 100, 3);
        upsert.Points[2].Payload["stock"] = new PayloadValue { Keyword = "many" };
        var set = new SetPayloadRequest { Collection = Name, Ids = { 1 } };
        set.Payload["sale"] = new PayloadValue { Integer = 1 };

        await PayloadData.Fails(StatusCode.InvalidArgument, server.Vectors.UpsertAsync(upsert).ResponseAsync,
            "points[2]", "'stock'", "Int64", "Keyword");
        await PayloadData.Fails(StatusCode.InvalidArgument, server.Vectors.SetPayloadAsync(set).ResponseAsync, "'sale'", "Bool", "Int64");

        GetResponse read = await server.Vectors.GetAsync(new GetRequest { Collection = Name, Ids = { 100, 101, 102, 1 } });
        Assert.Equal([100L, 101L, 102L], read.MissingIds);
        Assert.Equal(PayloadData.PayloadOf(1), read.Points.Single().Payload);
    }

    [Fact]
    public async Task APayloadOverTheByteLimitIsResourceExhausted()
    {
        await using RunningServer server = await StartWithPointsAsync(null, "--max-payload-bytes", "200");
        UpsertRequest upsert = PayloadData.Upsert(Name, 100, 2);
        upsert.Points[1].Payload["blob"] = new PayloadValue { Keyword = new string('x', 300) };

        await PayloadData.Fails(StatusCode.ResourceExhausted, server.Vectors.UpsertAsync(upsert).ResponseAsync,
            "points[1].payload", "--max-payload-bytes (200)");

        Assert.Equal(2, (await server.Vectors.GetAsync(new GetRequest { Collection = Name, Ids = { 100, 101 } })).MissingIds.Count);
    }

    [Fact]
    public async Task PayloadLimitsOfTheEngineAreRefusedNamingTheLimit()
    {
        await using RunningServer server = await StartWithPointsAsync();
        UpsertRequest longKeyword = PayloadData.Upsert(Name, 100, 1);
        longKeyword.Points[0].Payload["color"] = new PayloadValue { Keyword = new string('x', 1025) };
        var emptyMerge = new SetPayloadRequest { Collection = Name, Ids = { 1 } };
        var noValue = new SetPayloadRequest { Collection = Name, Ids = { 1 } };
        noValue.Payload["x"] = new PayloadValue();

        await PayloadData.Fails(StatusCode.InvalidArgument, server.Vectors.UpsertAsync(longKeyword).ResponseAsync,
            "points[0] (id 100)", "'color'", "MaxKeywordLength (1024)");
        await PayloadData.Fails(StatusCode.InvalidArgument, server.Vectors.SetPayloadAsync(emptyMerge).ResponseAsync, "payload is empty");
        await PayloadData.Fails(StatusCode.InvalidArgument, server.Vectors.SetPayloadAsync(noValue).ResponseAsync, "payload['x'] has no value");
    }

    [Fact]
    public async Task FieldsBeyondTheCollectionsLimitAreResourceExhaustedAndNothingIsWritten()
    {
        await using RunningServer server = await StartWithPointsAsync();
        int existing = PayloadData.PayloadOf(0).Count; // point 0 has every field the data writes
        for (int batch = 0; batch < 4; batch++)
        {
            var set = new SetPayloadRequest { Collection = Name, Ids = { 10 + batch }, Mode = PayloadWriteMode.Replace };
            for (int f = 0; f < 60; f++) set.Payload[$"f{batch}-{f}"] = new PayloadValue { Integer = f };
            await server.Vectors.SetPayloadAsync(set);
        }
        var over = new SetPayloadRequest { Collection = Name, Ids = { 15 } };
        for (int f = 0; f < 256 - existing - 240 + 1; f++) over.Payload[$"g{f}"] = new PayloadValue { Integer = f };

        await PayloadData.Fails(StatusCode.ResourceExhausted, server.Vectors.SetPayloadAsync(over).ResponseAsync, "256 payload fields per collection");

        Assert.Equal(PayloadData.PayloadOf(15), await PayloadAsync(server, 15));
    }

    [Fact]
    public async Task AScrollPageOverTheAnswerLimitEndsEarlyAndTheCursorGoesOn()
    {
        await using RunningServer server = await RunningServer.StartAsync(args: ["--max-message-bytes", "4096"]);
        await PayloadData.CreateAsync(server, Name);
        for (int id = 0; id < 12; id++)
        {
            Point point = TestData.Point(id, PayloadData.VectorOf(id));
            point.Payload["text"] = new PayloadValue { Keyword = new string((char)('a' + id), 500) };
            await server.Vectors.UpsertAsync(new UpsertRequest { Collection = Name, Points = { point } });
        }

        var seen = new List<long>();
        var pageSizes = new List<int>();
        long? after = null;
        do
        {
            var request = new ScrollRequest { Collection = Name, Limit = 12 };
            if (after is { } cursor) request.AfterId = cursor;
            ScrollResponse page = await server.Vectors.ScrollAsync(request);
            Assert.True(page.CalculateSize() < 4096, $"a page of {page.CalculateSize()} bytes");
            seen.AddRange(page.Points.Select(p => p.Id));
            pageSizes.Add(page.Points.Count);
            after = page.HasNextAfterId ? page.NextAfterId : null;
        } while (after is not null);

        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), seen);
        Assert.True(pageSizes.Count > 1, "the pages should have ended early");
    }

    [Fact]
    public async Task PayloadsAndPayloadChangesSurviveARestartACheckpointAndACompaction()
    {
        using var dataDir = new TempFolder();
        string[] args = ["--compact-deleted-fraction", "0.3"];
        RunningServer server = await StartWithPointsAsync(dataDir.Path, args);
        var set = new SetPayloadRequest { Collection = Name, Ids = { 1 } };
        set.Payload["color"] = new PayloadValue { Keyword = "violet" };
        await server.Vectors.SetPayloadAsync(set);
        await server.Vectors.DeletePayloadAsync(new DeletePayloadRequest { Collection = Name, Ids = { 2 }, Fields = { "price" } });
        await server.DisposeAsync();

        var expected = new Dictionary<long, Google.Protobuf.Collections.MapField<string, PayloadValue>>();
        for (int i = 0; i < 20; i++) expected[i] = PayloadData.PayloadOf(i);
        expected[1]["color"] = new PayloadValue { Keyword = "violet" };
        expected[2].Remove("price");

        // From the log alone.
        server = await RunningServer.StartAsync(dataDir.Path, args: args);
        await AssertPayloadsAsync(server, expected);
        // From a checkpoint's snapshot, then a compaction's (8 of 20 deleted: past 30 %).
        await server.Collections.CheckpointAsync(new CheckpointRequest { Name = Name });
        await server.Vectors.DeleteAsync(new DeleteRequest { Collection = Name, Ids = { 10, 11, 12, 13, 14, 15, 16, 17 } });
        for (long id = 10; id < 18; id++) expected.Remove(id);
        CheckpointResponse compacted = await server.Collections.CheckpointAsync(new CheckpointRequest { Name = Name });
        Assert.Equal(12ul, compacted.Info.NodeCount);
        await AssertPayloadsAsync(server, expected);
        await server.DisposeAsync();

        await using RunningServer restarted = await RunningServer.StartAsync(dataDir.Path, args: args);
        await AssertPayloadsAsync(restarted, expected);
    }

    private static async Task AssertPayloadsAsync(RunningServer server, Dictionary<long, Google.Protobuf.Collections.MapField<string, PayloadValue>> expected)
    {
        ScrollResponse all = await server.Vectors.ScrollAsync(new ScrollRequest { Collection = Name, Limit = 100 });
        Assert.Equal(expected.Keys.Order(), all.Points.Select(p => p.Id));
        foreach (Point point in all.Points)
            Assert.Equal(expected[point.Id], point.Payload);
        var violet = new Filter { Must = { PayloadData.Match("color", new Match { Keyword = "violet" }) } };
        Assert.Equal(1ul, (await server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = violet })).Count);
    }
}
