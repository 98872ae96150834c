using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>
/// The request-size limits agree, on a server with the default --max-message-bytes (64 MiB): a message between
/// Kestrel's default body limit (30,000,000 bytes) and 64 MiB reaches the service, which answers it for its own reasons,
/// and a larger one is RESOURCE_EXHAUSTED naming the limit; nothing is UNKNOWN.
/// </summary>
public sealed class MessageSizeTests : IAsyncLifetime
{
    private const int MaxMessageBytes = 64 << 20;
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static SearchBatchRequest Batch(string collection, int queries, int dimension)
    {
        var request = new SearchBatchRequest { Collection = collection, K = 1 };
        var vector = new float[dimension];
        for (int i = 0; i < queries; i++) request.Queries.Add(new BatchQuery { Vector = { vector } });
        return request;
    }

    [Fact]
    public async Task AnUpsertOfAbout35MBIsApplied()
    {
        const int dimension = 4096, points = 2_150;
        await _server.Collections.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = "wide", Dimension = dimension, Metric = Metric.L2, M = 4, EfConstruction = 8,
        });
        var request = new UpsertRequest { Collection = "wide" };
        float[] vectors = TestData.RandomVectors(points, dimension, seed: 1);
        for (int i = 0; i < points; i++) request.Points.Add(TestData.Point(i, TestData.Row(vectors, dimension, i)));
        Assert.InRange(request.CalculateSize(), 35_000_000, MaxMessageBytes);

        UpsertResponse response = await _server.Vectors.UpsertAsync(request);

        Assert.Equal((uint)points, response.Inserted);
    }

    [Fact]
    public async Task ASearchBatchOf100000QueriesWithinTheLimitIsRefusedForItsBatchSize()
    {
        SearchBatchRequest request = Batch("any", 100_000, 80);
        Assert.InRange(request.CalculateSize(), 30_000_000, MaxMessageBytes);

        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await _server.Vectors.SearchBatchAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("queries has 100000 entries, at most 1024 are allowed (the server's --max-batch-queries)", e.Status.Detail);
    }

    [Fact]
    public async Task AMessageOverTheLimitIsResourceExhaustedNamingIt()
    {
        SearchBatchRequest request = Batch("any", 210_000, 80);
        int size = request.CalculateSize();
        Assert.True(size > MaxMessageBytes);

        RpcException e = await Assert.ThrowsAsync<RpcException>(async () => await _server.Vectors.SearchBatchAsync(request));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal($"the request message is {size} bytes, more than the server's --max-message-bytes ({MaxMessageBytes})", e.Status.Detail);
    }
}
