using AnnServer.Core;
using AnnServer.Core.Snapshots;
using AnnServer.Protocol.V1;

namespace AnnServer.Tests;

/// <summary>A snapshot built in-process, served by the real server with --snapshot, and loaded again in-process:
/// the server's answers must be exactly the engine's.</summary>
public sealed class SearchTests : IAsyncLifetime
{
    private const int Dimension = 32;
    private const int Count = 2000;
    private const string Name = "fixture";

    private readonly TempFolder _files = new();
    private RunningServer _server = null!;
    private HnswIndex _engine = null!;

    public async Task InitializeAsync()
    {
        string snapshot = _files.File("fixture.snap");
        using (HnswIndex built = TestData.BuildIndex(Count, Dimension, DistanceMetric.L2, seed: 1, out _))
            Snapshot.Save(built, snapshot);
        _engine = Snapshot.Load(snapshot).Index;
        _server = await RunningServer.StartAsync(args: ["--snapshot", $"{Name}={snapshot}"]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _engine.Dispose();
        _files.Dispose();
    }

    private static float[][] Queries(int count) =>
        Enumerable.Range(0, count).Select(i => TestData.RandomVectors(1, Dimension, seed: 100 + i)).ToArray();

    [Fact]
    public async Task SearchResultsEqualTheEnginesForTheSameSnapshot()
    {
        foreach (float[] query in Queries(30))
        {
            SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search(Name, query, k: 10, ef: 64));
            SearchHit[] expected = _engine.Search(query, 10, 64);
            Assert.Equal(expected, response.Hits.Select(h => new SearchHit(h.Id, h.Distance)).ToArray());
        }
    }

    [Fact]
    public async Task SearchBatchAnswersEachQueryInOrder()
    {
        float[][] queries = Queries(20);
        var request = new SearchBatchRequest { Collection = Name, K = 5, Ef = 40 };
        foreach (float[] query in queries)
            request.Queries.Add(new BatchQuery { Vector = { query } });

        SearchBatchResponse response = await _server.Vectors.SearchBatchAsync(request);

        Assert.Equal(queries.Length, response.Results.Count);
        for (int i = 0; i < queries.Length; i++)
            Assert.Equal(_engine.Search(queries[i], 5, 40), response.Results[i].Hits.Select(h => new SearchHit(h.Id, h.Distance)).ToArray());
    }

    [Fact]
    public async Task WithoutEfTheServersDefaultEfIsUsed()
    {
        float[] query = Queries(1)[0];
        SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search(Name, query, k: 10));
        Assert.Equal(_engine.Search(query, 10, 64), response.Hits.Select(h => new SearchHit(h.Id, h.Distance)).ToArray());
    }

    [Fact]
    public async Task AnyOfLabelsFilterReturnsOnlyPointsWithOneOfTheLabels()
    {
        float[] query = Queries(1)[0];
        SearchRequest request = TestData.Search(Name, query, k: 10, ef: 100);
        request.Filter = new Filter { AnyOfLabels = { 3, 7 } };

        SearchResponse response = await _server.Vectors.SearchAsync(request);

        Assert.Equal(10, response.Hits.Count);
        Assert.All(response.Hits, hit => Assert.Contains((hit.Id - 1000) % 10, new long[] { 3, 7 }));
        Assert.Equal(_engine.Search(query, 10, 100, new SearchFilter([3, 7])), response.Hits.Select(h => new SearchHit(h.Id, h.Distance)).ToArray());
    }

    [Fact]
    public async Task ExcludedIdsAreNeverReturned()
    {
        float[] query = Queries(1)[0];
        SearchResponse unfiltered = await _server.Vectors.SearchAsync(TestData.Search(Name, query, k: 10, ef: 64));
        long[] excluded = unfiltered.Hits.Take(3).Select(h => h.Id).ToArray();
        SearchRequest request = TestData.Search(Name, query, k: 10, ef: 64);
        request.Filter = new Filter { ExcludedIds = { excluded } };

        SearchResponse response = await _server.Vectors.SearchAsync(request);

        Assert.Equal(10, response.Hits.Count);
        Assert.DoesNotContain(response.Hits, hit => excluded.Contains(hit.Id));
    }

    [Fact]
    public async Task LargeKIsServedFromAPooledBuffer()
    {
        float[] query = Queries(1)[0];
        SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search(Name, query, k: 500, ef: 600));
        Assert.Equal(_engine.Search(query, 500, 600), response.Hits.Select(h => new SearchHit(h.Id, h.Distance)).ToArray());
    }

    [Fact]
    public async Task SearchReportsTheServerSideTime()
    {
        SearchResponse response = await _server.Vectors.SearchAsync(TestData.Search(Name, Queries(1)[0], k: 10, ef: 64));
        Assert.InRange(response.ServerTimeMicros, 1ul, 5_000_000ul);
    }

    [Fact]
    public async Task TheImportedSnapshotIsDescribedAndCopiedIntoTheDataDirectory()
    {
        CollectionInfo info = await _server.Collections.GetCollectionInfoAsync(new GetCollectionInfoRequest { Name = Name });

        Assert.Equal((ulong)Count, info.Count);
        Assert.Equal((uint)Dimension, info.Dimension);
        Assert.Equal(Metric.L2, info.Metric);
        Assert.Equal(12u, info.M);
        Assert.Equal(100u, info.EfConstruction);
        Assert.True(info.MemoryBytes > (ulong)(Count * Dimension * sizeof(float)));
        Assert.True(File.Exists(Path.Combine(_server.DataDir, Name, "snapshot.snap")));
        Assert.Equal((ulong)new FileInfo(Path.Combine(_server.DataDir, Name, "snapshot.snap")).Length, info.SnapshotBytes);
    }
}
