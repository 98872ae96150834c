using AnnServer.Core;

namespace AnnServer.Core.Tests.Hnsw;

public class FilterTests
{
    private const int Dimension = 32;
    private const int Points = 20_000;
    private const int LabelCount = 200; // point i carries label i % 200: one label is 0.5 % of the points

    private static readonly Lazy<(HnswIndex Index, float[] Queries)> Shared = new(() =>
    {
        float[] data = TestData.Clustered(Points, Dimension, seed: 31);
        var labels = new int[Points][];
        for (int i = 0; i < Points; i++) labels[i] = [i % LabelCount, 1000 + i % 7];
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, EfConstruction = 100 });
        index.UpsertMany(data, TestData.Ids(Points), labels, threads: 2);
        return (index, TestData.Clustered(100, Dimension, seed: 32));
    });

    [Theory]
    [InlineData(100)] // 50 %
    [InlineData(10)]  // 5 %
    [InlineData(1)]   // 0.5 %
    public void FilteredResultsAllPassAndRecallIsAtLeast90Percent(int allowedLabels)
    {
        var (index, queries) = Shared.Value;
        var filter = new SearchFilter(Enumerable.Range(0, allowedLabels));
        double recall = 0;
        for (int q = 0; q < 100; q++)
        {
            var query = TestData.Row(queries, q, Dimension);
            var hits = index.Search(query, 10, 100, filter);
            Assert.Equal(10, hits.Length);
            Assert.All(hits, h => Assert.True(h.Id % LabelCount < allowedLabels, $"id {h.Id} does not carry an allowed label"));
            recall += TestData.Recall(hits, index.ExactSearch(query, 10, filter));
        }
        Assert.True(recall / 100 >= 0.9, $"filtered recall@10 with {allowedLabels} labels was {recall / 100:F4}");
    }

    [Fact]
    public void ExcludedIdsAreNeverReturned()
    {
        var (index, queries) = Shared.Value;
        var query = TestData.Row(queries, 0, Dimension);
        long[] nearest = index.Search(query, 10, 100).Select(h => h.Id).ToArray();
        var filter = new SearchFilter(excludedIds: nearest);

        var hits = index.Search(query, 10, 100, filter);

        Assert.Equal(10, hits.Length);
        Assert.Empty(hits.Select(h => h.Id).Intersect(nearest));
    }

    [Fact]
    public void LabelsAndExclusionsCombine()
    {
        var (index, queries) = Shared.Value;
        var query = TestData.Row(queries, 1, Dimension);
        var labelOnly = new SearchFilter([1003]);
        long[] first = index.Search(query, 5, 100, labelOnly).Select(h => h.Id).ToArray();

        var hits = index.Search(query, 5, 100, new SearchFilter([1003], first));

        Assert.All(hits, h => Assert.Equal(3, h.Id % 7));
        Assert.Empty(hits.Select(h => h.Id).Intersect(first));
    }

    [Fact]
    public void AFilterNoPointPassesReturnsNothing()
    {
        var (index, queries) = Shared.Value;
        Assert.Empty(index.Search(TestData.Row(queries, 0, Dimension), 10, 50, new SearchFilter([999_999])));
    }
}
