using AnnServer.Core;

namespace AnnServer.Core.Tests.Hnsw;

public class RecallTests
{
    private const int Dimension = 64;
    private const int Points = 20_000;
    private const int Queries = 200;

    [Theory]
    [InlineData(DistanceMetric.L2)]
    [InlineData(DistanceMetric.InnerProduct)]
    [InlineData(DistanceMetric.Cosine)]
    public void RecallAt10IsAtLeast95PercentAtEf100(DistanceMetric metric)
    {
        float[] data = TestData.Clustered(Points, Dimension, seed: 1);
        using var index = new HnswIndex(new HnswOptions { Dimension = Dimension, Metric = metric, M = 16, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(Points), threads: 2);
        Assert.Equal(Points, index.Count);

        float[] queries = TestData.Clustered(Queries, Dimension, seed: 2);
        double recall = 0;
        for (int q = 0; q < Queries; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            recall += TestData.Recall(index.Search(query, 10, 100), index.ExactSearch(query, 10));
        }
        recall /= Queries;
        Assert.True(recall >= 0.95, $"recall@10 for {metric} was {recall:F4}");
    }

    [Fact]
    public void ResultsAreSortedByDistanceThenId()
    {
        const int dimension = 4;
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension });
        // Four points at the same distance from the query, inserted out of id order, and one nearer.
        index.Upsert(40, [1, 0, 0, 0]);
        index.Upsert(10, [0, 1, 0, 0]);
        index.Upsert(30, [-1, 0, 0, 0]);
        index.Upsert(20, [0, -1, 0, 0]);
        index.Upsert(99, [0, 0, 0.5f, 0]);

        var hits = index.Search([0, 0, 0, 0], 5, 10);

        Assert.Equal([99L, 10, 20, 30, 40], hits.Select(h => h.Id));
        Assert.Equal(0.25f, hits[0].Distance);
        Assert.All(hits.Skip(1), h => Assert.Equal(1f, h.Distance));
    }

    [Fact]
    public void SearchOnAnEmptyIndexReturnsNothing()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 3 });
        Assert.Empty(index.Search([1, 2, 3], 10, 10));
    }

    [Fact]
    public void FewerPointsThanKReturnsThemAll()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(1, [1, 1]);
        index.Upsert(2, [2, 2]);
        var hits = index.Search([0, 0], 10, 10);
        Assert.Equal([1L, 2], hits.Select(h => h.Id));
    }
}
