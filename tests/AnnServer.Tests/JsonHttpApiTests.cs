using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AnnServer.Security;

namespace AnnServer.Tests;

/// <summary>JSON over HTTP (--http-port) on a real server, with HttpClient over HTTP/1.1: the same calls, validation and
/// errors as gRPC, as REST paths, HTTP statuses and google.rpc.Status bodies. One server for the class (no API keys,
/// --max-message-bytes 4096), with collection "items" of dimension 3; the API-key test starts its own.</summary>
public sealed class JsonHttpApiTests : IAsyncLifetime
{
    private const int MaxMessageBytes = 4096;

    private RunningServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(args: ["--max-message-bytes", MaxMessageBytes.ToString()]);
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_server.HttpPort}") };
        await Expect(HttpStatusCode.OK, await PostAsync("/v1/collections", """{"name": "items", "dimension": 3, "metric": "METRIC_L2"}"""));
        await Expect(HttpStatusCode.OK, await PostAsync("/v1/collections/items/points", """
            {"points": [
              {"id": 1, "vector": [1, 0, 0], "payload": {"color": {"keyword": "red"}}},
              {"id": 2, "vector": [0.9, 0.1, 0], "payload": {"color": {"keyword": "blue"}}},
              {"id": 3, "vector": [0, 1, 0], "payload": {"color": {"keyword": "red"}}}
            ]}
            """));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task SearchWithAFilterReturnsTheNearestMatchingPoints()
    {
        JsonElement answer = await Expect(HttpStatusCode.OK, await PostAsync("/v1/collections/items/search", """
            {"query": [1, 0, 0], "k": 2, "filter": {"must": [{"field": {"key": "color", "match": {"keyword": "red"}}}]},
             "withPayload": {"all": true}}
            """));

        JsonElement[] hits = [.. answer.GetProperty("hits").EnumerateArray()];
        Assert.Equal([1L, 3L], hits.Select(hit => hit.GetProperty("id").GetInt64()));
        Assert.Equal(0f, hits[0].GetProperty("distance").GetSingle());
        Assert.Equal("red", hits[1].GetProperty("payload").GetProperty("fields").GetProperty("color").GetProperty("keyword").GetString());
    }

    [Fact]
    public async Task RecommendAndGroupedSearchHaveTheirPaths()
    {
        JsonElement recommended = await Expect(HttpStatusCode.OK, await PostAsync("/v1/collections/items/recommend", """
            {"positiveIds": [1], "negativeIds": [3, 99], "k": 1, "strategy": "RECOMMEND_STRATEGY_BEST_SCORE"}
            """));
        JsonElement grouped = await Expect(HttpStatusCode.OK, await PostAsync("/v1/collections/items/search", """
            {"query": [1, 0, 0], "k": 1, "groupBy": {"field": "color", "groupSize": 1, "groups": 2}}
            """));

        Assert.Equal(2, Assert.Single(recommended.GetProperty("hits").EnumerateArray()).GetProperty("id").GetInt64());
        Assert.Equal(99, Assert.Single(recommended.GetProperty("missingIds").EnumerateArray()).GetInt64());
        Assert.Equal(["red", "blue"], grouped.GetProperty("groups").EnumerateArray()
            .Select(g => g.GetProperty("key").GetProperty("keyword").GetString()));
    }

    [Fact]
    public async Task GetReturnsTheUpsertedPoint()
    {
        JsonElement answer = await Expect(HttpStatusCode.OK,
            await PostAsync("/v1/collections/items/points/get", """{"ids": [2], "withVector": true}"""));

        JsonElement point = Assert.Single(answer.GetProperty("points").EnumerateArray());
        Assert.Equal(2, point.GetProperty("id").GetInt64());
        Assert.Equal([0.9f, 0.1f, 0f], point.GetProperty("vector").EnumerateArray().Select(c => c.GetSingle()));
        Assert.Equal("blue", point.GetProperty("payload").GetProperty("color").GetProperty("keyword").GetString());
    }

    [Fact]
    public async Task CollectionsAreListedAndDescribedByGet()
    {
        JsonElement list = await Expect(HttpStatusCode.OK, await _http.GetAsync("/v1/collections"));
        JsonElement info = await Expect(HttpStatusCode.OK, await _http.GetAsync("/v1/collections/items"));

        Assert.Contains("items", list.GetProperty("collections").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.Equal(3, info.GetProperty("dimension").GetInt32());
        Assert.Equal("METRIC_L2", info.GetProperty("metric").GetString());
    }

    [Fact]
    public async Task AnInvalidArgumentIs400WithTheServersMessage()
    {
        JsonElement error = await Expect(HttpStatusCode.BadRequest,
            await PostAsync("/v1/collections/items/search", """{"query": [1, 0], "k": 2}"""));

        Assert.Equal(3, error.GetProperty("code").GetInt32()); // INVALID_ARGUMENT
        Assert.Equal("query has 2 components, but collection 'items' has dimension 3", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task MalformedJsonIs400()
    {
        JsonElement error = await Expect(HttpStatusCode.BadRequest, await PostAsync("/v1/collections/items/search", """{"query": [1, 0"""));

        Assert.Equal(3, error.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task AnUnknownCollectionIs404NamingIt()
    {
        JsonElement error = await Expect(HttpStatusCode.NotFound, await _http.GetAsync("/v1/collections/absent"));

        Assert.Equal(5, error.GetProperty("code").GetInt32()); // NOT_FOUND
        Assert.Contains("'absent'", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ABodyOverTheMessageLimitIs429NamingTheLimit()
    {
        string points = string.Join(", ", Enumerable.Range(10, 200).Select(id => $$"""{"id": {{id}}, "vector": [1, 2, 3]}"""));

        JsonElement error = await Expect(HttpStatusCode.TooManyRequests,
            await PostAsync("/v1/collections/items/points", $$"""{"points": [{{points}}]}"""));

        Assert.Equal(8, error.GetProperty("code").GetInt32()); // RESOURCE_EXHAUSTED
        Assert.Contains($"--max-message-bytes ({MaxMessageBytes})", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task TheOpenApiDocumentListsThePaths()
    {
        JsonElement document = await Expect(HttpStatusCode.OK, await _http.GetAsync("/openapi/v1.json"));

        JsonElement paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/v1/collections/{collection}/search", out JsonElement search));
        Assert.Equal("The k nearest points to one query vector.", search.GetProperty("post").GetProperty("summary").GetString()); // the .proto's comment
        Assert.True(paths.TryGetProperty("/v1/collections/{name}", out JsonElement collection));
        Assert.True(collection.TryGetProperty("get", out _));
        Assert.True(collection.TryGetProperty("delete", out _));
    }

    [Fact]
    public async Task TheMetricsPortServesNoJsonApi()
    {
        using var metrics = new HttpClient();

        HttpResponseMessage response = await metrics.GetAsync($"http://127.0.0.1:{_server.MetricsPort}/v1/collections");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task WithApiKeysACallNeedsAKeyWithItsRole()
    {
        const string readKey = "read-key-0123456789";
        await using RunningServer server = await RunningServer.StartAsync(args: ["--api-keys", $"read:{ApiKeyHash.ToHex(readKey)}:reader"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };

        HttpResponseMessage withoutKey = await http.GetAsync("/v1/collections");
        using var listWithKey = new HttpRequestMessage(HttpMethod.Get, "/v1/collections") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", readKey) } };
        HttpResponseMessage withKey = await http.SendAsync(listWithKey);
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/collections")
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", readKey) },
            Content = Json("""{"name": "c", "dimension": 2, "metric": "METRIC_L2"}"""),
        };
        HttpResponseMessage createWithReadKey = await http.SendAsync(create);
        HttpResponseMessage openApiWithoutKey = await http.GetAsync("/openapi/v1.json");

        JsonElement unauthenticated = await Expect(HttpStatusCode.Unauthorized, withoutKey);
        Assert.Equal(AuthorizationMiddleware.UnauthenticatedMessage, unauthenticated.GetProperty("message").GetString());
        await Expect(HttpStatusCode.OK, withKey);
        JsonElement denied = await Expect(HttpStatusCode.Forbidden, createWithReadKey);
        Assert.Equal("CreateCollection requires the 'admin' role; this API key has the 'read' role", denied.GetProperty("message").GetString());
        await Expect(HttpStatusCode.OK, openApiWithoutKey);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) => _http.PostAsync(path, Json(json));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>Asserts the status (showing the body when it differs) and returns the body as JSON.</summary>
    private static async Task<JsonElement> Expect(HttpStatusCode status, HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
