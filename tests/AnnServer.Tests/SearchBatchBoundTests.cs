using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>What one SearchBatch may hold in the server (its queries and k hits per query) is bounded by
/// --max-message-bytes, here 8,192 bytes; collection "b" has dimension 16 (64 bytes a query, 64 a hit).</summary>
public sealed class SearchBatchBoundTests : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(args: ["--max-message-bytes", "8192"]);
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest { Name = "b", Dimension = 16, Metric = Metric.L2 });
        float[] vectors = TestData.RandomVectors(50, 16, seed: 9);
        var upsert = new UpsertRequest { Collection = "b" };
        for (int i = 0; i < 50; i++) upsert.Points.Add(TestData.Point(i, TestData.Row(vectors, 16, i)));
        await _server.Vectors.UpsertAsync(upsert);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static SearchBatchRequest Batch(int queries, int k)
    {
        var request = new SearchBatchRequest { Collection = "b", K = k };
        float[] vectors = TestData.RandomVectors(queries, 16, seed: 10);
        for (int i = 0; i < queries; i++) request.Queries.Add(new BatchQuery { Vector = { TestData.Row(vectors, 16, i) } });
        return request;
    }

    [Fact]
    public async Task ABatchWithinTheBoundIsAnswered()
    {
        // 10 × (64 + 10 × 64) = 7,040 bytes held.
        SearchBatchResponse response = await _server.Vectors.SearchBatchAsync(Batch(10, 10));
        Assert.Equal(10, response.Results.Count);
        Assert.All(response.Results, r => Assert.Equal(10, r.Hits.Count));
    }

    [Fact]
    public async Task ABatchThatWouldHoldMoreIsRefusedNamingTheLimit()
    {
        // 12 × (64 + 10 × 64) = 8,448 bytes held: more than 8,192, though the request itself is about 900 bytes.
        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await _server.Vectors.SearchBatchAsync(Batch(12, 10)));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("--max-message-bytes (8192)", e.Status.Detail);
        Assert.Contains("send at most 11 queries a batch", e.Status.Detail);
    }
}
