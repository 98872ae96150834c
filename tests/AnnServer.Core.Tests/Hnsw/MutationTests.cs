using AnnServer.Core;

namespace AnnServer.Core.Tests.Hnsw;

public class MutationTests
{
    private const int Dimension = 16;

    private static HnswIndex IndexOf(int points, out float[] data)
    {
        data = TestData.Clustered(points, Dimension, seed: 21);
        var index = new HnswIndex(new HnswOptions { Dimension = Dimension, EfConstruction = 64 });
        index.UpsertMany(data, TestData.Ids(points), threads: 2);
        return index;
    }

    [Fact]
    public void DeletedIdsAreNeverReturned()
    {
        using var index = IndexOf(3_000, out float[] data);
        var deleted = new HashSet<long>();
        for (long id = 0; id < 3_000; id += 3)
        {
            Assert.True(index.Delete(id));
            deleted.Add(id);
        }

        Assert.Equal(3_000 - deleted.Count, index.Count);
        for (int row = 0; row < 3_000; row += 7)
        {
            var hits = index.Search(TestData.Row(data, row, Dimension), 20, 100);
            Assert.Equal(20, hits.Length);
            Assert.DoesNotContain(hits, h => deleted.Contains(h.Id));
            Assert.DoesNotContain(index.ExactSearch(TestData.Row(data, row, Dimension), 20), h => deleted.Contains(h.Id));
        }
    }

    [Fact]
    public void DeletingAnUnknownIdReturnsFalse()
    {
        using var index = IndexOf(10, out _);
        Assert.False(index.Delete(12345));
        Assert.True(index.Delete(3));
        Assert.False(index.Delete(3));
        Assert.False(index.Contains(3));
    }

    [Fact]
    public void UpsertedIdsReturnTheirNewVector()
    {
        using var index = IndexOf(2_000, out float[] data);
        // A new position inside the data, next to another point, far from where id 42 was.
        float[] replacement = TestData.Row(data, 1_000, Dimension).ToArray();
        replacement[0] += 0.01f;

        Assert.True(index.Upsert(42, replacement, [7]));

        Assert.Equal(2_000, index.Count);
        Assert.Equal(2_001, index.NodeCount);
        var stored = new float[Dimension];
        Assert.True(index.TryGet(42, stored, out int[] labels));
        Assert.Equal(replacement, stored);
        Assert.Equal([7], labels);
        var hits = index.Search(replacement, 1, 50);
        Assert.Equal(42, hits[0].Id);
        Assert.Equal(0f, hits[0].Distance);
        // The old vector no longer answers for id 42.
        var nearOld = index.Search(TestData.Row(data, 42, Dimension), 5, 50);
        Assert.DoesNotContain(nearOld, h => h.Id == 42 && h.Distance == 0f);
    }

    [Fact]
    public void AnIdDeletedAndInsertedAgainIsLiveOnce()
    {
        using var index = IndexOf(100, out float[] data);
        index.Delete(5);
        Assert.False(index.Upsert(5, TestData.Row(data, 5, Dimension)));
        var hits = index.Search(TestData.Row(data, 5, Dimension), 100, 200);
        Assert.Single(hits, h => h.Id == 5);
        Assert.Equal(100, index.Count);
    }

    [Fact]
    public void PointsInsertedAfterEveryPointWasDeletedAreFound()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2 });
        index.Upsert(1, [0, 0]);
        index.Delete(1);
        index.Upsert(2, [1, 0]);
        index.Upsert(3, [0, 1]);
        index.Upsert(4, [1, 1]);

        var hits = index.Search([1, 1], 3, 64);

        Assert.Equal([4L, 2, 3], hits.Select(h => h.Id));
    }

    [Fact]
    public void CosineStoresUnitVectors()
    {
        using var index = new HnswIndex(new HnswOptions { Dimension = 2, Metric = DistanceMetric.Cosine });
        index.Upsert(1, [3, 4]);
        var stored = new float[2];
        index.TryGet(1, stored, out _);
        Assert.Equal(0.6f, stored[0], 5);
        Assert.Equal(0.8f, stored[1], 5);
        var hit = index.Search([6, 8], 1, 1)[0];
        Assert.Equal(0f, hit.Distance, 5);
    }
}
