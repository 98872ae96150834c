using AnnServer.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace AnnServer.Collections.Tests;

/// <summary>A log commit that fails while its points are already linked into the graph (they are linked while the
/// commit is on its way): on a real FASTER log whose device starts failing its page writes.</summary>
public sealed class LogFailureTests
{
    private const int Dimension = 8;

    [Fact]
    public async Task AFailedCommitShowsNoPointOfItsWriteAndLosesNoAcknowledgedOne()
    {
        using var dataDir = new TempFolder();
        FailingLogDevice? device = null;
        var failing = new DurabilityOptions { WrapLogDevice = inner => device = new FailingLogDevice(inner) };
        float[] acknowledged = TestData.RandomVectors(200, Dimension, seed: 1);
        float[] refused = TestData.RandomVectors(300, Dimension, seed: 2);
        await using (var registry = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance, failing))
        {
            await registry.LoadAsync([], CancellationToken.None);
            await registry.CreateAsync("c", new HnswOptions { Dimension = Dimension, M = 8, EfConstruction = 32 }, CancellationToken.None);
            using CollectionLease lease = registry.Acquire("c");
            await lease.Collection.UpsertAsync(Batch(0, acknowledged), CancellationToken.None);

            device!.FailWrites();
            await Assert.ThrowsAnyAsync<IOException>(async () => await lease.Collection.UpsertAsync(Batch(1_000, refused), CancellationToken.None));
            Assert.True(device.FailedWrites > 0);

            AssertHoldsExactly(lease.Collection, acknowledged, refusedIdsFrom: 1_000, refused);
            // The log is broken: a later write is refused whole as well, and changes nothing.
            await Assert.ThrowsAnyAsync<IOException>(async () => await lease.Collection.UpsertAsync(Batch(2_000, refused), CancellationToken.None));
            AssertHoldsExactly(lease.Collection, acknowledged, refusedIdsFrom: 2_000, refused);
        }

        // Restarted on a sound disk: every acknowledged point; of the refused write, nothing (its page never reached the disk).
        await using var reopened = new CollectionRegistry(new DataDirectory(dataDir.Path), NullLogger<CollectionRegistry>.Instance);
        await reopened.LoadAsync([], CancellationToken.None);
        using CollectionLease again = reopened.Acquire("c");
        AssertHoldsExactly(again.Collection, acknowledged, refusedIdsFrom: 1_000, refused);
    }

    private static UpsertBatch Batch(long firstId, float[] vectors)
    {
        int count = vectors.Length / Dimension;
        return new UpsertBatch(Dimension, Enumerable.Range(0, count).Select(i => firstId + i).ToArray(), vectors, new int[]?[count]);
    }

    /// <summary>The acknowledged points with their vectors, and no trace of the refused ones: not by id, not in the count,
    /// not as a hit of a search for their own vectors.</summary>
    private static void AssertHoldsExactly(Collection collection, float[] acknowledged, long refusedIdsFrom, float[] refused)
    {
        int count = acknowledged.Length / Dimension;
        Assert.Equal(count, collection.Count);
        var vector = new float[Dimension];
        for (int i = 0; i < count; i++)
        {
            Assert.True(collection.TryGet(i, vector, out _), $"acknowledged id {i} is missing");
            Assert.Equal(TestData.Row(acknowledged, Dimension, i), vector);
        }
        var hits = new SearchHit[10];
        for (int i = 0; i < refused.Length / Dimension; i++)
        {
            Assert.False(collection.TryGet(refusedIdsFrom + i, vector, out _), $"refused id {refusedIdsFrom + i} is visible");
            int found = collection.Search(TestData.Row(refused, Dimension, i), 10, 40, hits, filter: null);
            for (int h = 0; h < found; h++) Assert.True(hits[h].Id < count, $"a search returned refused id {hits[h].Id}");
        }
    }
}
