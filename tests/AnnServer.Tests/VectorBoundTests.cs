using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// A vector whose squared norm is over 1e36 is refused at the edge on every metric, in an Upsert and as a query, so no
/// two stored vectors can overflow float32 into a NaN distance (docs/api.md, "Errors"). The vector of the issue:
/// components alternating ±float.MaxValue, each finite. One server with an l2, an ip and a cosine collection of
/// dimension 8, each holding one ordinary point.
/// </summary>
public sealed class VectorBoundTests : IAsyncLifetime
{
    private const int Dimension = 8;
    private static readonly float[] Alternating = [.. Enumerable.Range(0, Dimension).Select(i => i % 2 == 0 ? float.MaxValue : -float.MaxValue)];
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync();
        foreach ((string name, Metric metric) in Collections)
        {
            await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimension = Dimension, Metric = metric });
            await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = name, Points = { TestData.Point(1, TestData.RandomVectors(1, Dimension, seed: 1)) } });
        }
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static readonly (string, Metric)[] Collections = [("l2", Metric.L2), ("ip", Metric.InnerProduct), ("cosine", Metric.Cosine)];

    public static TheoryData<string> Names() => ["l2", "ip", "cosine"];

    private static async Task Invalid<T>(AsyncUnaryCall<T> call, string field)
    {
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await call);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        // 8 · (3.4028235e38)² = 9.263e+77.
        Assert.Equal($"{field} has squared norm 9.263e+77, more than the limit of 1e36 (a norm of at most 1e18), so that every " +
                     "distance and dot product between two vectors stays finite in float32", e.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task AnUpsertOfAVectorOverTheNormBoundIsInvalidAndChangesNothing(string collection)
    {
        await Invalid(_server.Vectors.UpsertAsync(new UpsertRequest
        {
            Collection = collection, Points = { TestData.Point(2, TestData.RandomVectors(1, Dimension, seed: 2)), TestData.Point(3, Alternating) },
        }), "points[1].vector");

        CollectionInfo info = await _server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = collection });
        Assert.Equal(1ul, info.Count);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public Task AQueryOverTheNormBoundIsInvalid(string collection) =>
        Invalid(_server.Vectors.SearchAsync(TestData.Search(collection, Alternating, k: 1)), "query");

    [Theory]
    [MemberData(nameof(Names))]
    public Task ABatchQueryOverTheNormBoundIsInvalid(string collection) =>
        Invalid(_server.Vectors.SearchBatchAsync(new SearchBatchRequest
        {
            Collection = collection, K = 1,
            Queries = { new BatchQuery { Vector = { TestData.RandomVectors(1, Dimension, seed: 3) } }, new BatchQuery { Vector = { Alternating } } },
        }), "queries[1].vector");

    [Theory]
    [MemberData(nameof(Names))]
    public async Task AVectorWithinTheBoundIsAcceptedAndItsDistancesAreFinite(string collection)
    {
        // Squared norm 8 · (3e17)² = 7.2e35 ≤ 1e36, with alternating signs: the largest products the bound allows.
        float[] large = [.. Alternating.Select(x => MathF.Sign(x) * 3e17f)];
        float[] opposite = [.. large.Select(x => -x)];
        await _server.Vectors.UpsertAsync(new UpsertRequest { Collection = collection, Points = { TestData.Point(10, large) } });
        try
        {
            SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search(collection, opposite, k: 2));
            Assert.Equal(2, response.Hits.Count);
            Assert.All(response.Hits, hit => Assert.True(float.IsFinite(hit.Distance), $"distance {hit.Distance}"));
        }
        finally
        {
            await _server.Vectors.DeleteAsync(new DeleteRequest { Collection = collection, Ids = { 10 } });
        }
    }
}
