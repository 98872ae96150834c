using System.Net;
using System.Text;
using AnnServer.Protocol.V1;
using Grpc.Core;
using static AnnServer.Tests.PayloadData;

namespace AnnServer.Tests;

/// <summary>
/// Stored id sets end to end on a real server: put over gRPC (and JSON), named in must / must_not of Search,
/// SearchBatch, Count and Scroll; listed, deleted, expired after a short TTL; bounds refused with RESOURCE_EXHAUSTED
/// naming the limit; bad names, TTLs and unknown sets refused with the right code.
/// </summary>
public sealed class IdSetTests : IAsyncLifetime
{
    private const string Name = "sets";
    private static readonly long[] Evens = [.. Enumerable.Range(0, Points / 2).Select(i => 2L * i)];
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync();
        await CreateAsync(_server, Name);
        await _server.Vectors.UpsertAsync(Upsert(Name, 0, Points));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static Filter NotIn(string set) => new() { MustNot = { new Condition { IdSet = new IdSetCondition { Name = set } } } };
    private static Filter In(string set) => new() { Must = { new Condition { IdSet = new IdSetCondition { Name = set } } } };

    private Task<PutIdSetResponse> PutAsync(string set, IEnumerable<long> ids, long ttlSeconds = 0) =>
        _server.Vectors.PutIdSetAsync(new PutIdSetRequest { Collection = Name, Name = set, Ids = { ids }, TtlSeconds = ttlSeconds }).ResponseAsync;

    private async Task<long[]> SearchAsync(Filter filter) =>
        [.. (await _server.Vectors.SearchAsync(new SearchRequest
        {
            Collection = Name, Query = { new float[Dimension] }, K = Points, Ef = 400, Filter = filter,
        })).Hits.Select(h => h.Id).Order()];

    [Fact]
    public async Task ASetSelectsItsPointsUnderMustAndTheOthersUnderMustNot()
    {
        PutIdSetResponse put = await PutAsync("seen", [.. Evens, 100_000]);
        long[] odds = [.. Enumerable.Range(0, Points / 2).Select(i => 2L * i + 1)];

        Assert.Equal((ulong)Evens.Length + 1, put.Set.Count);
        Assert.Equal(odds, await SearchAsync(NotIn("seen")));
        Assert.Equal(Evens, await SearchAsync(In("seen")));
        Assert.Equal((ulong)odds.Length, (await _server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = NotIn("seen") })).Count);
        ScrollResponse page = await _server.Vectors.ScrollAsync(new ScrollRequest { Collection = Name, Filter = In("seen"), Limit = 1000 });
        Assert.Equal(Evens, page.Points.Select(p => p.Id));
        SearchBatchResponse batch = await _server.Vectors.SearchBatchAsync(new SearchBatchRequest
        {
            Collection = Name, K = 10, Ef = 100,
            Queries = { new BatchQuery { Vector = { VectorOf(4) }, Filter = NotIn("seen") } },
        });
        Assert.All(batch.Results[0].Hits, h => Assert.Equal(1, h.Id % 2));
        Assert.Equal(10, batch.Results[0].Hits.Count);
    }

    [Fact]
    public async Task APointUpsertedAgainAfterThePutIsStillInTheSet()
    {
        await PutAsync("seen", Evens);
        Assert.DoesNotContain(4L, await SearchAsync(NotIn("seen")));

        await _server.Vectors.UpsertAsync(Upsert(Name, 4, 1)); // id 4 takes a new node
        await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = Name, Points = { new Point { Id = Points * 2, Vector = { VectorOf(0) } } } });

        long[] notSeen = await SearchAsync(NotIn("seen"));
        Assert.DoesNotContain(4L, notSeen);
        Assert.Contains(Points * 2L, notSeen);
        Assert.Contains(4L, await SearchAsync(In("seen")));
    }

    [Fact]
    public async Task ListShowsTheSetsAndDeleteRemovesOne()
    {
        await PutAsync("a", [1, 2, 3], ttlSeconds: 600);
        await PutAsync("b", [4]);

        ListIdSetsResponse listed = await _server.Vectors.ListIdSetsAsync(new ListIdSetsRequest { Collection = Name });
        Assert.Equal(["a", "b"], listed.Sets.Select(s => s.Name));
        Assert.Equal(3UL, listed.Sets[0].Count);
        Assert.InRange(listed.Sets[0].ExpiresAtUnixMs, DateTimeOffset.UtcNow.AddSeconds(590).ToUnixTimeMilliseconds(),
            DateTimeOffset.UtcNow.AddSeconds(601).ToUnixTimeMilliseconds());
        Assert.Equal(0, listed.Sets[1].ExpiresAtUnixMs);

        Assert.True((await _server.Vectors.DeleteIdSetAsync(new DeleteIdSetRequest { Collection = Name, Name = "a" })).Deleted);
        Assert.False((await _server.Vectors.DeleteIdSetAsync(new DeleteIdSetRequest { Collection = Name, Name = "a" })).Deleted);
        Assert.Equal(["b"], (await _server.Vectors.ListIdSetsAsync(new ListIdSetsRequest { Collection = Name })).Sets.Select(s => s.Name));
        await Fails(StatusCode.NotFound, SearchAsync(NotIn("a")), "id set 'a'");
    }

    [Fact]
    public async Task ASetPastItsTtlIsGone()
    {
        await PutAsync("short", [1, 2], ttlSeconds: 1);
        Assert.Equal(Points - 2, (await SearchAsync(NotIn("short"))).Length);

        await Task.Delay(TimeSpan.FromSeconds(1.2));

        await Fails(StatusCode.NotFound, _server.Vectors.CountAsync(new CountRequest { Collection = Name, Filter = NotIn("short") }).ResponseAsync,
            "id set 'short'", "expired");
        Assert.Empty((await _server.Vectors.ListIdSetsAsync(new ListIdSetsRequest { Collection = Name })).Sets);
    }

    [Fact]
    public async Task BadNamesTtlsAndUnknownSetsAreRefused()
    {
        await Fails(StatusCode.InvalidArgument, PutAsync("", [1]), "name is empty");
        await Fails(StatusCode.InvalidArgument, PutAsync("a b", [1]), "name 'a b'", "' '");
        await Fails(StatusCode.InvalidArgument, PutAsync(new string('x', 129), [1]), "name", "128");
        await Fails(StatusCode.InvalidArgument, PutAsync("ok", [1], ttlSeconds: -1), "ttl_seconds");
        await Fails(StatusCode.InvalidArgument, SearchAsync(NotIn("")), "filter.must_not[0].id_set.name");
        await Fails(StatusCode.NotFound, SearchAsync(NotIn("never")), "id set 'never'");
        await Fails(StatusCode.NotFound, _server.Vectors.PutIdSetAsync(new PutIdSetRequest { Collection = "nope", Name = "s", Ids = { 1 } }).ResponseAsync,
            "nope");
        Assert.Empty((await _server.Vectors.ListIdSetsAsync(new ListIdSetsRequest { Collection = Name })).Sets);
    }

    [Fact]
    public async Task PutsPastTheBoundsAreRefusedNamingTheLimit()
    {
        await using RunningServer small = await RunningServer.StartAsync(args:
            ["--max-id-sets", "2", "--max-ids-per-set", "1000", "--max-id-set-bytes", "8192"]);
        await CreateAsync(small, Name);
        await small.Vectors.UpsertAsync(Upsert(Name, 0, Points));
        Task<PutIdSetResponse> Put(string set, int ids) => small.Vectors.PutIdSetAsync(new PutIdSetRequest
        {
            Collection = Name, Name = set, Ids = { Enumerable.Range(0, ids).Select(i => (long)i) },
        }).ResponseAsync;

        await Fails(StatusCode.ResourceExhausted, Put("many", 1001), "max-ids-per-set (1,000)");
        await Put("a", 500); // 4,000 bytes of ids and 32 of bitmap
        await Fails(StatusCode.ResourceExhausted, Put("b", 600), "max-id-set-bytes (8,192)");
        await Put("b", 10);
        await Fails(StatusCode.ResourceExhausted, Put("c", 10), "max-id-sets (2)");
        await Put("a", 20); // replacing a set is not one more
        Assert.Equal(["a", "b"], (await small.Vectors.ListIdSetsAsync(new ListIdSetsRequest { Collection = Name })).Sets.Select(s => s.Name));
    }

    [Fact]
    public async Task JsonOverHttpPutsAndNamesASet()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_server.HttpPort}") };
        HttpResponseMessage put = await http.PostAsync($"/v1/collections/{Name}/id-sets",
            new StringContent("""{"name": "seen-json", "ids": [0, 1, 2], "ttlSeconds": 60}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        HttpResponseMessage count = await http.PostAsync($"/v1/collections/{Name}/points/count",
            new StringContent("""{"filter": {"mustNot": [{"idSet": {"name": "seen-json"}}]}}""", Encoding.UTF8, "application/json"));
        Assert.Contains($"\"count\":{Points - 3}", (await count.Content.ReadAsStringAsync()).Replace(" ", ""));
        HttpResponseMessage deleted = await http.DeleteAsync($"/v1/collections/{Name}/id-sets/seen-json");
        Assert.Contains("true", await deleted.Content.ReadAsStringAsync());
    }
}
