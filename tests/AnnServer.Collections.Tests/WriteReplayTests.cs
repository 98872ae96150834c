using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>Writes through a registry's collections, without a server: their order in the log decides, a request
/// larger than a log page is written as several records, and a restart replays them all.</summary>
public sealed class WriteReplayTests
{
    private const int Dimension = 8;

    [Fact]
    public async Task ConcurrentUpsertsOfTheSameIdsEndAsTheLogOrdersThemBeforeAndAfterReplay()
    {
        using var dataDir = new TempFolder();
        var writes = new System.Collections.Concurrent.ConcurrentBag<(long Position, long[] Ids, float[] Vectors)>();
        await using (var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance))
        {
            await registry.LoadAsync([], CancellationToken.None);
            await registry.CreateAsync("c", new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 32 }, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var random = new Random(w);
                for (int k = 0; k < 10; k++)
                {
                    long[] ids = Enumerable.Range(0, 100).OrderBy(_ => random.Next()).Take(40).Select(i => (long)i).ToArray();
                    float[] vectors = TestData.RandomVectors(ids.Length, Dimension, seed: w * 100 + k);
                    UpsertResult result = await lease.Collection.UpsertAsync(new UpsertBatch(Dimension, ids, vectors, new int[]?[ids.Length]), CancellationToken.None);
                    writes.Add((result.LogPosition, ids, vectors));
                }
            })));
            AssertLastWriteInLogOrderWins(lease.Collection, writes);
        } // closed without a checkpoint

        await using var reopened = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance);
        await reopened.LoadAsync([], CancellationToken.None);
        using CollectionLease again = reopened.Acquire("c");
        Assert.Equal(80, again.Collection.Recovery!.RecordsApplied);
        AssertLastWriteInLogOrderWins(again.Collection, writes);
    }

    private static void AssertLastWriteInLogOrderWins(Collection collection, IEnumerable<(long Position, long[] Ids, float[] Vectors)> writes)
    {
        var expected = new Dictionary<long, float[]>();
        foreach (var (_, ids, vectors) in writes.OrderBy(w => w.Position))
            for (int i = 0; i < ids.Length; i++)
                expected[ids[i]] = TestData.Row(vectors, Dimension, i);
        var actual = new float[Dimension];
        Assert.Equal(expected.Count, collection.Count);
        foreach (var (id, vector) in expected)
        {
            Assert.True(collection.TryGet(id, actual, out _), $"id {id} is missing");
            Assert.Equal(vector, actual);
        }
    }

    [Fact]
    public async Task ABatchLargerThanALogPageIsWrittenAsSeveralRecordsAndReplayedWhole()
    {
        using var dataDir = new TempFolder();
        var durability = new DurabilityOptions { LogPageSizeBits = 12 }; // 4 KiB: about 40 points of dimension 16 with labels
        float[] vectors = TestData.RandomVectors(300, 16, seed: 9);
        var batch = new UpsertBatch(16, Enumerable.Range(0, 300).Select(i => (long)i).ToArray(), vectors,
            Enumerable.Range(0, 300).Select(i => i % 3 == 0 ? null : new[] { i, i + 1 }).ToArray());
        await using (var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance, durability))
        {
            await registry.LoadAsync([], CancellationToken.None);
            await registry.CreateAsync("c", new HnswOptions { Dimension = 16, M = 8, EfConstruction = 32 }, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            UpsertResult result = await lease.Collection.UpsertAsync(batch, CancellationToken.None);
            Assert.Equal(300, result.Inserted);
        } // closed without a checkpoint: the next load replays the log

        await using var reopened = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance, durability);
        await reopened.LoadAsync([], CancellationToken.None);
        using CollectionLease again = reopened.Acquire("c");
        var vector = new float[16];

        Assert.True(again.Collection.Recovery!.RecordsApplied > 5, $"{again.Collection.Recovery.RecordsApplied} records: the batch should have been split");
        Assert.Equal(300, again.Collection.Count);
        for (int i = 0; i < 300; i++)
        {
            Assert.True(again.Collection.TryGet(i, vector, out int[] labels));
            Assert.Equal(TestData.Row(vectors, 16, i), vector);
            Assert.Equal(batch.Labels[i] ?? [], labels);
        }
    }

    [Fact]
    public async Task APointTooLargeForOneLogRecordIsRejectedByName()
    {
        using var dataDir = new TempFolder();
        await using var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance,
            new DurabilityOptions { LogPageSizeBits = 12 });
        await registry.LoadAsync([], CancellationToken.None);
        await registry.CreateAsync("c", new HnswOptions { Dimension = 4 }, CancellationToken.None);
        using CollectionLease lease = registry.Acquire("c");
        var batch = new UpsertBatch(4, [1, 2], new float[8], [null, Enumerable.Range(0, 2000).ToArray()]);

        var e = await Assert.ThrowsAsync<ArgumentException>(async () => await lease.Collection.UpsertAsync(batch, CancellationToken.None));

        Assert.Contains("points[1] (id 2, 2000 labels)", e.Message);
        Assert.Equal(0, lease.Collection.Count);
    }
}
