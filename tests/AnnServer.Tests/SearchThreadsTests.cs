using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Protocol.V1;
using Grpc.Core;

namespace AnnServer.Tests;

/// <summary>With --search-threads, unary searches run on the server's own search threads: the same answers as the
/// engine's, concurrent calls included, and a bad request still gets its status.</summary>
public sealed class SearchThreadsTests : IAsyncLifetime
{
    private const int Dimension = 16;
    private const string Name = "fixture";

    private readonly TempFolder _files = new();
    private RunningServer _server = null!;
    private HnswIndex _engine = null!;

    public async Task InitializeAsync()
    {
        string snapshot = _files.File("fixture.snap");
        using (HnswIndex built = TestData.BuildIndex(500, Dimension, DistanceMetric.L2, seed: 3, out _))
            Snapshot.Save(built, snapshot);
        _engine = Snapshot.Load(snapshot).Index;
        _server = await RunningServer.StartAsync(args: ["--snapshot", $"{Name}={snapshot}", "--search-threads", "2"]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _engine.Dispose();
        _files.Dispose();
    }

    [Fact]
    public async Task ConcurrentSearchesOnSearchThreadsEqualTheEngines()
    {
        // Ten at once: within what the admission limits let in on a 2-core machine (--max-concurrent-searches and
        // --max-queued-searches: 2 and 8 per core).
        float[][] queries = Enumerable.Range(0, 10).Select(i => TestData.RandomVectors(1, Dimension, seed: 50 + i)).ToArray();
        SearchResponse[] responses = await Task.WhenAll(queries.Select(q => _server.Vectors.SearchAsync(TestData.Search(Name, q, k: 5, ef: 32)).ResponseAsync));
        for (int i = 0; i < queries.Length; i++)
            Assert.Equal(_engine.Search(queries[i], 5, 32), responses[i].Hits.Select(h => new SearchHit(h.Id, h.Distance)).ToArray());
    }

    [Fact]
    public async Task AQueryOfTheWrongLengthIsInvalidArgumentOnASearchThread()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _server.Vectors.SearchAsync(TestData.Search(Name, new float[Dimension + 1], k: 5, ef: 32)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("query", e.Status.Detail);
    }
}
