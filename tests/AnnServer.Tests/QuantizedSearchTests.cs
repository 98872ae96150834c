using System.Net;
using System.Text;
using System.Text.Json;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// A search's QuantizationParams on a real server: without the re-rank an int8 collection's hits carry the codes'
/// distances, in Search, SearchBatch, SearchStream, Recommend and JSON over HTTP alike; a float32 collection ignores the
/// field; an oversampling outside 1 to 100 is INVALID_ARGUMENT naming the field and the limit. One server for the class,
/// with collections "q8" (int8) and "f" (float32) of the same 2,000 points of dimension 16 (L2).
/// </summary>
public sealed class QuantizedSearchTests : IAsyncLifetime
{
    private const int Dimension = 16, Points = 2_000, K = 10, Ef = 64;
    private static readonly float[] Vectors = TestData.RandomVectors(Points, Dimension, seed: 71);
    private static readonly float[] Queries = TestData.RandomVectors(20, Dimension, seed: 72);

    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync();
        foreach ((string name, Quantization quantization) in new[] { ("q8", Quantization.Int8), ("f", Quantization.None) })
        {
            await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest
            {
                Name = name, Dimension = Dimension, Metric = Metric.L2, Quantization = quantization,
            });
            var upsert = new UpsertRequest { Collection = name };
            for (int i = 0; i < Points; i++) upsert.Points.Add(TestData.Point(i, TestData.Row(Vectors, Dimension, i)));
            await _server.Vectors.UpsertAsync(upsert);
        }
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static QuantizationParams CodeDistances => new() { Rescore = false };

    private static SearchRequest Search(string collection, int query, QuantizationParams? quantization = null)
    {
        SearchRequest request = TestData.Search(collection, TestData.Row(Queries, Dimension, query), K, Ef);
        request.Quantization = quantization;
        return request;
    }

    [Fact]
    public async Task WithoutRescoreTheHitsCarryTheCodesDistancesAndMostlyTheSameIds()
    {
        int agreeing = 0, differing = 0;
        for (int q = 0; q < 20; q++)
        {
            float[] query = TestData.Row(Queries, Dimension, q);
            SearchResponse rescored = await _server.Vectors.SearchAsync(Search("q8", q));
            SearchResponse oversampled = await _server.Vectors.SearchAsync(Search("q8", q, new QuantizationParams { Oversampling = 1 }));
            SearchResponse codes = await _server.Vectors.SearchAsync(Search("q8", q, CodeDistances));

            Assert.Equal(K, codes.Hits.Count);
            foreach (Hit hit in rescored.Hits.Concat(oversampled.Hits))
                Assert.True(SameDistance(SquaredL2(query, hit.Id), hit.Distance), $"re-ranked hit {hit.Id}: {hit.Distance}");
            foreach (Hit hit in codes.Hits)
                if (!SameDistance(SquaredL2(query, hit.Id), hit.Distance)) differing++;
            agreeing += codes.Hits.Select(h => h.Id).Intersect(rescored.Hits.Select(h => h.Id)).Count();
        }
        Assert.True(differing >= 20 * K * 9 / 10, $"{differing} of {20 * K} hits without the re-rank carry a distance other than the float32 one");
        Assert.True(agreeing >= 20 * K * 8 / 10, $"{agreeing} of {20 * K} ids found with and without the re-rank");
    }

    [Fact]
    public async Task SearchBatchSearchStreamAndRecommendHonourTheField()
    {
        var batch = new SearchBatchRequest { Collection = "q8", K = K, Ef = Ef, Quantization = CodeDistances };
        for (int q = 0; q < 5; q++) batch.Queries.Add(new BatchQuery { Vector = { TestData.Row(Queries, Dimension, q) } });
        SearchBatchResponse batched = await _server.Vectors.SearchBatchAsync(batch);
        using var stream = _server.Vectors.SearchStream();
        await stream.RequestStream.WriteAsync(new SearchStreamRequest { Tag = 1, Search = Search("q8", 0, CodeDistances) });
        await stream.RequestStream.CompleteAsync();
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None));
        SearchResponse streamed = stream.ResponseStream.Current.Result;
        // One positive, no negative: the average vector is the point's own, so the distances are to it.
        var recommend = new RecommendRequest { Collection = "q8", PositiveIds = { 5 }, K = K, Ef = Ef };
        RecommendResponse rescored = await _server.Vectors.RecommendAsync(recommend);
        recommend.Quantization = CodeDistances;
        RecommendResponse codes = await _server.Vectors.RecommendAsync(recommend);
        float[] positive = TestData.Row(Vectors, Dimension, 5);

        for (int q = 0; q < 5; q++)
            Assert.Equal((await _server.Vectors.SearchAsync(Search("q8", q, CodeDistances))).Hits, batched.Results[q].Hits);
        Assert.Equal((await _server.Vectors.SearchAsync(Search("q8", 0, CodeDistances))).Hits, streamed.Hits);
        Assert.All(rescored.Hits, hit => Assert.True(SameDistance(SquaredL2(positive, hit.Id), hit.Distance)));
        Assert.Equal(K, codes.Hits.Count);
        Assert.Contains(codes.Hits, hit => !SameDistance(SquaredL2(positive, hit.Id), hit.Distance));
    }

    [Fact]
    public async Task AFloat32CollectionIgnoresTheField()
    {
        for (int q = 0; q < 5; q++)
        {
            SearchResponse plain = await _server.Vectors.SearchAsync(Search("f", q));
            Assert.Equal(plain.Hits, (await _server.Vectors.SearchAsync(Search("f", q, CodeDistances))).Hits);
            Assert.Equal(plain.Hits, (await _server.Vectors.SearchAsync(Search("f", q, new QuantizationParams { Oversampling = 3 }))).Hits);
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    [InlineData(0f)]
    [InlineData(0.5f)]
    [InlineData(100.5f)]
    public async Task AnOversamplingOutsideOneToOneHundredIsInvalidArgumentNamingTheFieldAndTheLimit(float oversampling)
    {
        var quantization = new QuantizationParams { Oversampling = oversampling };
        var batch = new SearchBatchRequest { Collection = "q8", K = K, Quantization = quantization };
        batch.Queries.Add(new BatchQuery { Vector = { TestData.Row(Queries, Dimension, 0) } });
        var recommend = new RecommendRequest { Collection = "q8", PositiveIds = { 5 }, K = K, Quantization = quantization };

        foreach (Func<Task> call in new Func<Task>[]
        {
            async () => await _server.Vectors.SearchAsync(Search("q8", 0, quantization)),
            async () => await _server.Vectors.SearchAsync(Search("f", 0, quantization)), // validated whatever the collection
            async () => await _server.Vectors.SearchBatchAsync(batch),
            async () => await _server.Vectors.RecommendAsync(recommend),
        })
        {
            var e = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.Contains("quantization.oversampling", e.Status.Detail);
            Assert.Contains("at most 100", e.Status.Detail);
        }
    }

    [Fact]
    public async Task JsonOverHttpTakesTheFieldAndRefusesABadOversampling()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_server.HttpPort}") };
        string query = string.Join(", ", TestData.Row(Queries, Dimension, 0).Select(c => c.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

        HttpResponseMessage codes = await http.PostAsync("/v1/collections/q8/search",
            Json($$$"""{"query": [{{{query}}}], "k": {{{K}}}, "ef": {{{Ef}}}, "quantization": {"rescore": false}}"""));
        HttpResponseMessage tooLarge = await http.PostAsync("/v1/collections/q8/search",
            Json($$$"""{"query": [{{{query}}}], "k": {{{K}}}, "quantization": {"oversampling": 1000}}"""));

        string body = await codes.Content.ReadAsStringAsync();
        Assert.True(codes.StatusCode == HttpStatusCode.OK, body);
        Hit[] expected = [.. (await _server.Vectors.SearchAsync(Search("q8", 0, CodeDistances))).Hits];
        JsonElement[] hits = [.. JsonDocument.Parse(body).RootElement.GetProperty("hits").EnumerateArray()];
        Assert.Equal(expected.Select(h => h.Id), hits.Select(h => h.GetProperty("id").GetInt64()));
        Assert.Equal(expected.Select(h => h.Distance), hits.Select(h => h.GetProperty("distance").GetSingle()));
        Assert.Equal(HttpStatusCode.BadRequest, tooLarge.StatusCode);
        Assert.Contains("quantization.oversampling", await tooLarge.Content.ReadAsStringAsync());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static float SquaredL2(float[] query, long id)
    {
        float sum = 0;
        for (int d = 0; d < Dimension; d++)
        {
            float difference = query[d] - Vectors[id * Dimension + d];
            sum += difference * difference;
        }
        return sum;
    }

    /// <summary>Equal up to the order of a float32 sum (the server's kernel adds in blocks).</summary>
    private static bool SameDistance(float expected, float actual) => Math.Abs(expected - actual) <= 1e-5f * Math.Max(1f, expected);
}
