using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// Payloads and filter expressions end to end over gRPC: written with points, read back by Get, Search, Scroll; every
/// condition kind against the same predicate evaluated here; payload writes; bad payloads and filters refused with the
/// right code and nothing changed. Points are made by <see cref="PayloadData"/>, which also says which of them each
/// filter must select.
/// </summary>
public sealed class PayloadTests : IAsyncLifetime
{
    private const string Name = "p";
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync();
        await PayloadData.CreateAsync(_server, Name);
        await _server.Vectors.UpsertAsync(PayloadData.Upsert(Name, 0, PayloadData.Points));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task GetReturnsThePayloadAsWritten()
    {
        GetResponse read = await _server.Vectors.GetAsync(new GetRequest { Collection = Name, Ids = { 6, 7 } });

        Assert.Equal(PayloadData.PayloadOf(6), read.Points[0].Payload);
        Assert.Equal(PayloadData.PayloadOf(7), read.Points[1].Payload);
        Assert.Equal(PayloadData.Dimension, read.Points[0].Vector.Count);
    }

    [Fact]
    public async Task GetReturnsOnlyTheSelectedFieldsAndNoVectorWhenAsked()
    {
        GetResponse read = await _server.Vectors.GetAsync(new GetRequest
        {
            Collection = Name, Ids = { 6 }, WithVector = false,
            WithPayload = new PayloadSelector { Fields = new FieldNames { Names = { "price", "absent", "color" } } },
        });
        GetResponse none = await _server.Vectors.GetAsync(new GetRequest
        {
            Collection = Name, Ids = { 6 }, WithPayload = new PayloadSelector { All = false },
        });

        Assert.Equal(["price", "color"], read.Points[0].Payload.Keys);
        Assert.Empty(read.Points[0].Vector);
        Assert.Empty(none.Points[0].Payload);
        Assert.Equal(PayloadData.Dimension, none.Points[0].Vector.Count);
    }

    public static TheoryData<string> Filters => new(PayloadData.Filters.Keys);

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task EveryConditionKindSelectsExactlyThePointsItsPredicateDoes(string name)
    {
        (Filter filter, Func<int, bool> predicate) = PayloadData.Filters[name];
        long[] expected = Enumerable.Range(0, PayloadData.Points).Where(predicate).Select(i => (long)i).ToArray();

        CountResponse count = await _server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = filter });
        ScrollResponse scrolled = await _server.Vectors.ScrollAsync(new ScrollRequest { Collection = Name, Filter = filter, Limit = 1000 });
        // k as large as the collection and ef above it: the search must return exactly the matching points.
        SearchResponse searched = await _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { new float[PayloadData.Dimension] }, K = PayloadData.Points, Ef = 400, Filter = filter,
        });

        Assert.NotEmpty(expected);
        Assert.Equal((ulong)expected.Length, count.Count);
        Assert.Equal(expected, scrolled.Points.Select(p => p.Id));
        Assert.Equal(expected, searched.Hits.Select(h => h.Id).Order());
    }

    [Fact]
    public async Task HitsCarryTheSelectedPayloadAndVectorAndNothingBeyondTheScoreThreshold()
    {
        float[] query = PayloadData.VectorOf(10);
        SearchResponse plain = await _server.Vectors.SearchAsync(TestData.Search(Name, query, k: 10, ef: 100));
        float threshold = plain.Hits[4].Distance;

        SearchResponse response = await _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { query }, K = 10, Ef = 100, WithVector = true, ScoreThreshold = threshold,
            WithPayload = new PayloadSelector { Fields = new FieldNames { Names = { "color" } } },
        });

        Assert.All(plain.Hits, h => Assert.Null(h.Payload));
        Assert.All(plain.Hits, h => Assert.Null(h.Vector));
        Assert.Equal(plain.Hits.Where(h => h.Distance <= threshold).Select(h => h.Id), response.Hits.Select(h => h.Id));
        Assert.Equal(10, response.Hits[0].Id);
        Assert.Equal(query, response.Hits[0].Vector.Values);
        Assert.All(response.Hits, h => Assert.Equal(PayloadData.PayloadOf((int)h.Id)["color"], h.Payload.Fields["color"]));
        Assert.All(response.Hits, h => Assert.Single(h.Payload.Fields));
    }

    [Fact]
    public async Task EachQueryOfABatchHasItsOwnFilterAndItsHitsTheirPayloads()
    {
        var request = new SearchBatchRequest
        {
            Collection = Name, K = 5, Ef = 100, WithPayload = new PayloadSelector { All = true },
            Queries =
            {
                new BatchQuery { Vector = { PayloadData.VectorOf(3) }, Filter = PayloadData.Filters["keyword"].Filter },
                new BatchQuery { Vector = { PayloadData.VectorOf(3) }, Filter = PayloadData.Filters["bool"].Filter },
            },
        };

        SearchBatchResponse response = await _server.Vectors.SearchBatchAsync(request);

        Assert.All(response.Results[0].Hits, h => Assert.True(PayloadData.Filters["keyword"].Predicate((int)h.Id)));
        Assert.All(response.Results[1].Hits, h => Assert.True(PayloadData.Filters["bool"].Predicate((int)h.Id)));
        Assert.All(response.Results.SelectMany(r => r.Hits), h => Assert.Equal(PayloadData.PayloadOf((int)h.Id), h.Payload.Fields));
    }

    [Fact]
    public async Task ScrollPagesThroughTheWholeCollectionInIdOrderWithoutRepeats()
    {
        var seen = new List<long>();
        long? after = null;
        int pages = 0;
        do
        {
            var request = new ScrollRequest { Collection = Name, Limit = 37, WithPayload = new PayloadSelector { All = false } };
            if (after is { } cursor) request.AfterId = cursor;
            ScrollResponse page = await _server.Vectors.ScrollAsync(request);
            seen.AddRange(page.Points.Select(p => p.Id));
            Assert.All(page.Points, p => Assert.Empty(p.Payload));
            after = page.HasNextAfterId ? page.NextAfterId : null;
            pages++;
        } while (after is not null);

        Assert.Equal(Enumerable.Range(0, PayloadData.Points).Select(i => (long)i), seen);
        Assert.Equal((PayloadData.Points + 36) / 37, pages);
        Assert.Equal((ulong)PayloadData.Points, (await _server.Vectors.CountAsync(new CountRequest { Collection = Name })).Count);
    }

    [Fact]
    public async Task AFilterOfTheWrongShapeIsRefusedNamingItsPath()
    {
        var noBound = new Filter { Must = { new Condition { Filter = new Filter { Should = { PayloadData.Field("price", new NumericRange()) } } } } };
        var empty = new Filter { MustNot = { new Condition() } };
        Filter deep = PayloadData.Filters["keyword"].Filter;
        for (int i = 0; i < 8; i++) deep = new Filter { Must = { new Condition { Filter = deep } } };
        var many = new Filter();
        for (int i = 0; i < 65; i++) many.Should.Add(PayloadData.Match("color", new Match { Keyword = "red" }));

        await PayloadData.Fails(StatusCode.InvalidArgument, Count(noBound), "filter.must[0].filter.should[0].field.range", "no bound");
        await PayloadData.Fails(StatusCode.InvalidArgument, Count(empty), "filter.must_not[0] is empty");
        await PayloadData.Fails(StatusCode.InvalidArgument, Count(deep), "9 deep", "limit of 8");
        await PayloadData.Fails(StatusCode.InvalidArgument, Count(many), "filter.should[64]", "limit of 64");
    }

    [Fact]
    public async Task AMatchOfAnotherKindThanItsFieldIsRefused()
    {
        var filter = new Filter { Must = { PayloadData.Match("price", new Match { Keyword = "cheap" }) } };

        RpcException e = await Assert.ThrowsAsync<RpcException>(async () =>
            await _server.Vectors.SearchAsync(new SearchRequest { Collection = Name, Query = { new float[PayloadData.Dimension] }, K = 1, Filter = filter }));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("price", e.Status.Detail);
    }

    [Fact]
    public async Task LabelFiltersOfCurrentClientsWorkAsBefore()
    {
        var filter = new Filter { AnyOfLabels = { 1 }, ExcludedIds = { 1, 5 } };

        CountResponse count = await _server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = filter });
        SearchResponse searched = await _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { new float[PayloadData.Dimension] }, K = PayloadData.Points, Ef = 400, Filter = filter,
        });

        long[] expected = Enumerable.Range(0, PayloadData.Points).Where(i => i % 4 == 1 && i != 1 && i != 5).Select(i => (long)i).ToArray();
        Assert.Equal((ulong)expected.Length, count.Count);
        Assert.Equal(expected, searched.Hits.Select(h => h.Id).Order());
        Assert.All(searched.Hits, h => Assert.Null(h.Payload));
    }

    private Task Count(Filter filter) => _server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = filter }).ResponseAsync;
}
