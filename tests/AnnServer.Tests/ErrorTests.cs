using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>Each bad request gets its status code and a message naming the field, changes nothing, and the server
/// keeps serving. One server for the class, with small limits: --max-k 50 --max-ef 200 --max-batch-queries 4
/// --max-message-bytes 65536 --max-get-ids 2000; collection "c" has dimension 8 and ten points.</summary>
public sealed class ErrorTests : IAsyncLifetime
{
    private const int Dimension = 8;
    private RunningServer _server = null!;
    private readonly float[] _good = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f];

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(args: ["--max-k", "50", "--max-ef", "200", "--max-batch-queries", "4", "--max-message-bytes", "65536", "--max-get-ids", "2000"]);
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "c", Dimension = Dimension, Metric = Metric.L2 });
        var upsert = new UpsertRequest { Collection = "c" };
        for (int i = 0; i < 10; i++)
            upsert.Points.Add(TestData.Point(i, TestData.RandomVectors(1, Dimension, seed: i)));
        await _server.Vectors.UpsertAsync(upsert);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static async Task<RpcException> Fails<T>(StatusCode expected, AsyncUnaryCall<T> call, params string[] messageMentions)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(expected, e.StatusCode);
        foreach (string mention in messageMentions)
            Assert.Contains(mention, e.Status.Detail);
        return e;
    }

    private Task Search(StatusCode expected, float[] query, int k, int? ef, params string[] mentions) =>
        Fails(expected, _server.Vectors.SearchAsync(TestData.Search("c", query, k, ef)), mentions);

    [Fact] public Task WrongDimensionIsInvalid() => Search(StatusCode.InvalidArgument, [1, 2, 3], 5, null, "query", "3 components", "dimension 8");
    [Fact] public Task EmptyQueryIsInvalid() => Search(StatusCode.InvalidArgument, [], 5, null, "query is empty");
    [Fact] public Task NaNComponentIsInvalid() => Search(StatusCode.InvalidArgument, [0, 0, 0, float.NaN, 0, 0, 0, 0], 5, null, "query[3] is NaN");
    [Fact] public Task InfiniteComponentIsInvalid() => Search(StatusCode.InvalidArgument, [0, 0, 0, 0, 0, 0, 0, float.NegativeInfinity], 5, null, "query[7] is infinite");
    [Fact] public Task ZeroKIsInvalid() => Search(StatusCode.InvalidArgument, _good, 0, null, "k must be at least 1");
    [Fact] public Task NegativeKIsInvalid() => Search(StatusCode.InvalidArgument, _good, -3, null, "k must be at least 1, got -3");
    [Fact] public Task KAboveTheMaximumIsInvalid() => Search(StatusCode.InvalidArgument, _good, 51, null, "k must be at most 50");
    [Fact] public Task EfBelowKIsInvalid() => Search(StatusCode.InvalidArgument, _good, 10, 5, "ef (5) must be at least k (10)");
    [Fact] public Task EfAboveTheMaximumIsInvalid() => Search(StatusCode.InvalidArgument, _good, 10, 201, "ef must be at most 200");

    [Fact]
    public Task BadCollectionNameIsInvalid() =>
        Fails(StatusCode.InvalidArgument, _server.Vectors.SearchAsync(TestData.Search("no/such", _good, 5)), "collection", "'/'");

    [Fact]
    public Task UnknownCollectionIsNotFound() =>
        Fails(StatusCode.NotFound, _server.Vectors.SearchAsync(TestData.Search("nope", _good, 5)), "'nope'");

    [Fact]
    public async Task EveryCallOnAnUnknownCollectionIsNotFound()
    {
        await Fails(StatusCode.NotFound, _server.Vectors.UpsertAsync(new UpsertRequest { Collection = "nope", Points = { TestData.Point(1, _good) } }));
        await Fails(StatusCode.NotFound, _server.Vectors.DeleteAsync(new DeleteRequest { Collection = "nope", Ids = { 1 } }));
        await Fails(StatusCode.NotFound, _server.Vectors.GetAsync(new GetRequest { Collection = "nope", Ids = { 1 } }));
        await Fails(StatusCode.NotFound, _server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "nope" }));
        await Fails(StatusCode.NotFound, _server.Collections.CheckpointAsync(new CheckpointRequest { Name = "nope" }));
        await Fails(StatusCode.NotFound, _server.Collections.DropCollectionAsync(new DropCollectionRequest { Name = "nope" }));
    }

    [Fact]
    public Task CreatingAnExistingCollectionIsAlreadyExists() =>
        Fails(StatusCode.AlreadyExists, _server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "c", Dimension = 4, Metric = Metric.L2 }), "'c'");

    [Fact]
    public Task CreatingWithoutAMetricIsInvalid() =>
        Fails(StatusCode.InvalidArgument, _server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "m", Dimension = 4 }), "metric is required");

    [Fact]
    public Task CreatingWithDimensionZeroIsInvalid() =>
        Fails(StatusCode.InvalidArgument, _server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "d", Dimension = 0, Metric = Metric.L2 }), "dimension");

    [Fact]
    public Task CreatingWithAnOutOfRangeMIsInvalid() =>
        Fails(StatusCode.InvalidArgument, _server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "d", Dimension = 4, Metric = Metric.L2, M = 1000 }), "M must be between");

    [Fact]
    public Task CreatingWithABadNameIsInvalid() =>
        Fails(StatusCode.InvalidArgument, _server.Collections.CreateCollectionAsync(
            new CreateCollectionRequest { Name = new string('x', 65), Dimension = 4, Metric = Metric.L2 }), "name", "at most 64");

    [Fact]
    public Task AnEmptyBatchIsInvalid() =>
        Fails(StatusCode.InvalidArgument, _server.Vectors.SearchBatchAsync(new SearchBatchRequest { Collection = "c", K = 5 }), "queries is empty");

    [Fact]
    public Task TooManyQueriesInABatchIsInvalid()
    {
        var request = new SearchBatchRequest { Collection = "c", K = 5 };
        for (int i = 0; i < 5; i++) request.Queries.Add(new BatchQuery { Vector = { _good } });
        return Fails(StatusCode.InvalidArgument, _server.Vectors.SearchBatchAsync(request), "queries has 5 entries, at most 4");
    }

    [Fact]
    public Task ABadQueryInABatchIsNamedByItsPosition()
    {
        var request = new SearchBatchRequest { Collection = "c", K = 5 };
        request.Queries.Add(new BatchQuery { Vector = { _good } });
        request.Queries.Add(new BatchQuery { Vector = { 1, 2 } });
        return Fails(StatusCode.InvalidArgument, _server.Vectors.SearchBatchAsync(request), "queries[1].vector has 2 components");
    }

    [Fact]
    public async Task EmptyWritesAndReadsAreInvalid()
    {
        await Fails(StatusCode.InvalidArgument, _server.Vectors.UpsertAsync(new UpsertRequest { Collection = "c" }), "points is empty");
        await Fails(StatusCode.InvalidArgument, _server.Vectors.DeleteAsync(new DeleteRequest { Collection = "c" }), "ids is empty");
        await Fails(StatusCode.InvalidArgument, _server.Vectors.GetAsync(new GetRequest { Collection = "c" }), "ids is empty");
    }

    [Fact]
    public async Task AGetOfTooManyIdsIsInvalid()
    {
        static GetRequest GetOf(int ids) => new() { Collection = "c", Ids = { Enumerable.Range(0, ids).Select(i => (long)i) } };

        await Fails(StatusCode.InvalidArgument, _server.Vectors.GetAsync(GetOf(2001)),
            "ids has 2001 entries, at most 2000 are allowed (the server's --max-get-ids)");
        // 8-d points answer at least 56 bytes each: 2,000 of them would not fit in the 64 kB --max-message-bytes.
        await Fails(StatusCode.InvalidArgument, _server.Vectors.GetAsync(GetOf(2000)),
            "a Get of 2000 ids of dimension 8 would answer about 112000 bytes", "--max-message-bytes (65536)", "at most 1170 ids at a time");
        GetResponse fits = await _server.Vectors.GetAsync(GetOf(1170));
        Assert.Equal(10, fits.Points.Count);
    }

    [Fact]
    public async Task AGetWhosePointsCarryTooManyLabelsForOneAnswerIsInvalid()
    {
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "labelled", Dimension = Dimension, Metric = Metric.L2 });
        var upsert = new UpsertRequest { Collection = "labelled" };
        for (int i = 0; i < 10; i++)
        {
            var point = new Point { Id = i, Vector = { _good } };
            point.Labels.Add(Enumerable.Range(0, 1500));
            upsert.Points.Add(point);
        }
        await _server.Vectors.UpsertAsync(upsert);

        // About 7.5 kB a point: the ninth takes the answer over 64 kB.
        await Fails(StatusCode.InvalidArgument, _server.Vectors.GetAsync(new GetRequest { Collection = "labelled", Ids = { Enumerable.Range(0, 10).Select(i => (long)i) } }),
            "would be over the server's --max-message-bytes (65536) by point 9 of 10 ids", "ask for fewer ids");
        GetResponse eight = await _server.Vectors.GetAsync(new GetRequest { Collection = "labelled", Ids = { Enumerable.Range(0, 8).Select(i => (long)i) } });
        Assert.Equal(1500, eight.Points[7].Labels.Count);
    }

    [Fact]
    public async Task AnOversizedMessageIsResourceExhausted()
    {
        var request = new UpsertRequest { Collection = "c" };
        for (int i = 0; i < 3000; i++) request.Points.Add(TestData.Point(100 + i, _good)); // ~120 kB > 64 kB

        await Fails(StatusCode.ResourceExhausted, _server.Vectors.UpsertAsync(request), "more than the server's --max-message-bytes (65536)");

        CollectionInfo info = await _server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = "c" });
        Assert.Equal(10ul, info.Count);
    }

    [Fact]
    public async Task AnUpsertWithOneBadPointChangesNothing()
    {
        var request = new UpsertRequest { Collection = "c" };
        request.Points.Add(TestData.Point(1000, _good));
        request.Points.Add(TestData.Point(1001, _good));
        request.Points.Add(TestData.Point(1002, [1, 2, 3, 4, 5, 6, 7, float.PositiveInfinity]));
        request.Points.Add(TestData.Point(3, _good)); // would replace an existing point

        await Fails(StatusCode.InvalidArgument, _server.Vectors.UpsertAsync(request), "points[2].vector[7] is infinite");

        GetResponse read = await _server.Vectors.GetAsync(new GetRequest { Collection = "c", Ids = { 1000, 1001, 1002, 3 } });
        Assert.Equal([1000L, 1001L, 1002L], read.MissingIds);
        Assert.Equal(TestData.RandomVectors(1, Dimension, seed: 3), read.Points[0].Vector.ToArray());
    }

    [Fact]
    public async Task TheServerKeepsServingAfterBadRequests()
    {
        await Search(StatusCode.InvalidArgument, [float.NaN], 5, null);
        await Fails(StatusCode.NotFound, _server.Vectors.SearchAsync(TestData.Search("nope", _good, 5)));

        SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search("c", _good, 5));
        Assert.Equal(5, response.Hits.Count);
    }
}
