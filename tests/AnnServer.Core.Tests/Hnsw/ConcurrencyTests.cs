using AnnServer.Core;

namespace AnnServer.Core.Tests.Hnsw;

public class ConcurrencyTests
{
    [Fact]
    public async Task FourWritersAndFourReadersLeaveEveryPointFindable()
    {
        const int dimension = 32, points = 8_000, writers = 4, readers = 4;
        float[] data = TestData.Clustered(points, dimension, seed: 11);
        using var index = new HnswIndex(new HnswOptions { Dimension = dimension, M = 16, EfConstruction = 100 });
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        int writersLeft = writers;

        var writerTasks = Enumerable.Range(0, writers).Select(w => Task.Run(() =>
        {
            try
            {
                for (int row = w; row < points; row += writers) index.Upsert(row, TestData.Row(data, row, dimension));
            }
            catch (Exception e) { errors.Enqueue(e); }
            finally { Interlocked.Decrement(ref writersLeft); }
        }));
        var readerTasks = Enumerable.Range(0, readers).Select(r => Task.Run(() =>
        {
            var random = new Random(r);
            var hits = new SearchHit[10];
            try
            {
                while (Volatile.Read(ref writersLeft) > 0)
                {
                    int found = index.Search(TestData.Row(data, random.Next(points), dimension), 10, 40, hits);
                    for (int i = 0; i < found; i++)
                        if (hits[i].Id < 0 || hits[i].Id >= points) throw new InvalidOperationException($"unknown id {hits[i].Id}");
                }
            }
            catch (Exception e) { errors.Enqueue(e); }
        }));
        await Task.WhenAll([.. writerTasks, .. readerTasks]);

        Assert.Empty(errors);
        Assert.Equal(points, index.Count);
        ReachabilityTests.AssertInLinkCountsMatchTheLists(index.Storage);
        Assert.Equal(0, ReachabilityTests.PointsNotFoundByTheirOwnVector(index, data));

        float[] queries = TestData.Clustered(100, dimension, seed: 12);
        double recall = 0;
        for (int q = 0; q < 100; q++)
        {
            var query = TestData.Row(queries, q, dimension);
            recall += TestData.Recall(index.Search(query, 10, 100), index.ExactSearch(query, 10));
        }
        Assert.True(recall / 100 >= 0.95, $"recall@10 after concurrent inserts was {recall / 100:F4}");
    }

    [Fact]
    public void ParallelBuildMatchesTheRecallOfASequentialOne()
    {
        const int dimension = 32, points = 5_000;
        float[] data = TestData.Clustered(points, dimension, seed: 13);
        float[] queries = TestData.Clustered(100, dimension, seed: 14);
        double RecallWith(int threads)
        {
            using var index = new HnswIndex(new HnswOptions { Dimension = dimension, EfConstruction = 100 });
            index.UpsertMany(data, TestData.Ids(points), threads: threads);
            double recall = 0;
            for (int q = 0; q < 100; q++)
            {
                var query = TestData.Row(queries, q, dimension);
                recall += TestData.Recall(index.Search(query, 10, 50), index.ExactSearch(query, 10));
            }
            return recall / 100;
        }

        Assert.InRange(RecallWith(4), RecallWith(1) - 0.02, 1.0);
    }
}
